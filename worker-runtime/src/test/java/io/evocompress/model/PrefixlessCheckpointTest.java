package io.evocompress.model;

import io.evocompress.BadFiles;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.PrefixlessCheckpoints;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.database.LayerVariant;
import io.evocompress.export.StitchedCheckpoint;
import io.evocompress.fitness.VariantSource;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints saved from the base model class, without its prefix ({@code decoder.layers.0...} for OPT,
 * {@code h.0...} for BLOOM, {@code layers.0...} for Llama and Phi-3): copies of the fixtures renamed
 * that way load to the fixture's float64 reference logits, export writes the copy's own names back, and a
 * checkpoint mixing both namings, or using neither, fails naming the file and a tensor.
 */
class PrefixlessCheckpointTest {
    @TempDir
    java.nio.file.Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-opt", "tiny-bloom", "tiny-phi3"})
    void aPrefixlessCopyGivesTheReferenceLogits(String fixture) {
        java.nio.file.Path copy = PrefixlessCheckpoints.copy(Fixtures.model(fixture), tmp.resolve(fixture));
        String prefix = PrefixlessCheckpoints.prefixOf(Fixtures.model(fixture));
        Map<String, String> stored = PrefixlessCheckpoints.header(copy.resolve("model.safetensors"));
        assertTrue(stored.keySet().stream().noneMatch(n -> n.startsWith(prefix)), fixture + ": " + stored.keySet());
        Path refFile = HadoopFiles.path(Fixtures.model(fixture).resolve("reference_logits.safetensors").toString());
        FileSystem fs = HadoopFiles.fileSystem(refFile, HadoopFiles.defaultConf());
        int[] ids = TokenIdsFile.read(fs, refFile);
        float[] reference;
        try (SafetensorsFile ref = SafetensorsFile.open(fs, refFile)) {
            reference = ref.readFloat(ref.info("logits"));
        }
        try (CheckpointReader original = CheckpointReader.open(Fixtures.model(fixture).toString());
             CheckpointReader prefixless = CheckpointReader.open(copy.toString())) {
            assertTrue(original.naming().full());
            assertEquals(prefix, prefixless.naming().prefix());
            assertEquals(original.tensorFiles().keySet(), prefixless.tensorFiles().keySet(),
                fixture + ": the reader names the copy's tensors by their full names");
            float[] logits = ModelFixtures.logits(prefixless, ids);
            double diff = ModelFixtures.maxAbsDiff(reference, logits);
            assertTrue(diff < 1e-4, fixture + ": max |logit - reference| = " + diff);
            assertArrayEquals(ModelFixtures.logits(original, ids), logits, fixture + ": the same weights, the same logits");
        }
    }

    /** Zeroes every second weight of a unit (level 1) or every third (level 2), read by its full name. */
    private static VariantSource everyNth(CheckpointReader dense) {
        return (layer, level) -> {
            long[] shape = TensorLayout.unitShape(dense, layer + ".weight");
            float[] w = TensorLayout.readUnit(dense, layer + ".weight");
            for (int i = 0; i < w.length; i += level + 1) {
                w[i] = 0;
            }
            return new LayerVariant.Sparse((int) shape[0], (int) shape[1], w);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void exportWritesTheInputsNaming(String fixture) {
        java.nio.file.Path copy = PrefixlessCheckpoints.copy(Fixtures.model(fixture), tmp.resolve(fixture));
        // a plain layer and a fused part (BLOOM's query_key_value.q, Phi-3's qkv_proj.q) of block 0
        Map<String, String> units = Map.of("tiny-opt", "model.decoder.layers.0.self_attn.q_proj",
            "tiny-bloom", "transformer.h.0.self_attention.query_key_value.q", "tiny-phi3", "model.layers.0.self_attn.qkv_proj.q");
        Map<String, String> downs = Map.of("tiny-opt", "model.decoder.layers.1.fc2", "tiny-bloom",
            "transformer.h.1.mlp.dense_4h_to_h", "tiny-phi3", "model.layers.1.mlp.down_proj");
        String q = units.get(fixture);
        String down = downs.get(fixture);
        java.nio.file.Path out = tmp.resolve(fixture + "-exported");
        try (CheckpointReader dense = CheckpointReader.open(copy.toString())) {
            Path o = HadoopFiles.path(out.toString());
            StitchedCheckpoint.write(dense, everyNth(dense), new StitchedCheckpoint.Profile(Map.of(q, 1, down, 2), null, null),
                HadoopFiles.fileSystem(o, HadoopFiles.defaultConf()), o, DType.F32, false, StitchedCheckpoint.Format.DENSE, null);
            assertEquals(PrefixlessCheckpoints.header(copy.resolve("model.safetensors")),
                PrefixlessCheckpoints.header(out.resolve("model.safetensors")),
                fixture + ": the export has the input's stored names, shapes and dtypes");
            try (CheckpointReader exported = CheckpointReader.open(out.toString())) {
                assertEquals(dense.naming(), exported.naming());
                assertArrayEquals(everyNth(dense).variant(q, 1).dense(), TensorLayout.readUnit(exported, q + ".weight"));
                assertArrayEquals(everyNth(dense).variant(down, 2).dense(), TensorLayout.readUnit(exported, down + ".weight"));
                String norm = ArchitectureRegistry.forType(ModelLoader.config(dense).modelType(), "config").finalNorm();
                assertArrayEquals(dense.readFloat(norm), exported.readFloat(norm));
            }
        }
    }

    @Test
    void aShardedPrefixlessCheckpointIsWrittenAndReadBack() {
        java.nio.file.Path copy = PrefixlessCheckpoints.copy(Fixtures.model("tiny-opt"), tmp.resolve("opt"));
        java.nio.file.Path sharded = tmp.resolve("sharded");
        int[] ids = java.util.Arrays.copyOf(ModelFixtures.referenceIds(), 32);
        try (CheckpointReader prefixless = CheckpointReader.open(copy.toString())) {
            new CheckpointWriter(DType.F32, 2, false).named(prefixless.naming()).write(prefixless.fileSystem(),
                HadoopFiles.path(sharded.toString()), prefixless.configJson(), ModelFixtures.tensors(prefixless),
                prefixless.fileSystem(), prefixless.dir());
            String index = readString(sharded.resolve("model.safetensors.index.json"));
            assertTrue(index.contains("\"decoder.layers.0.fc1.weight\"") && !index.contains("model.decoder"), index);
            try (CheckpointReader read = CheckpointReader.open(sharded.toString())) {
                assertEquals(prefixless.naming(), read.naming());
                assertArrayEquals(ModelFixtures.logits(prefixless, ids), ModelFixtures.logits(read, ids));
            }
        }
    }

    @Test
    void aCheckpointMixingBothNamingsFailsNamingTheFileAndBothTensors() {
        java.nio.file.Path copy = PrefixlessCheckpoints.copy(Fixtures.model("tiny-opt"), tmp.resolve("mixed"));
        java.nio.file.Path weights = copy.resolve("model.safetensors");
        BadFiles.editHeader(weights,
            h -> h.set("model.decoder.final_layer_norm.weight", h.remove("decoder.final_layer_norm.weight")));
        EvocompressException e = assertThrows(EvocompressException.class, () -> CheckpointReader.open(copy.toString()));
        for (String part : List.of(weights.toString(), "tensor 'decoder.", "'model.decoder.final_layer_norm.weight'",
                "prefix 'model.'", "one way")) {
            assertTrue(e.getMessage().contains(part), "lacks " + part + ": " + e.getMessage());
        }
    }

    @Test
    void aCheckpointNamedNeitherWayFailsNamingTheFileAndATensor() {
        java.nio.file.Path copy = PrefixlessCheckpoints.copy(Fixtures.model("tiny-bloom"), tmp.resolve("neither"));
        java.nio.file.Path weights = copy.resolve("model.safetensors");
        BadFiles.editHeader(weights, h -> {
            List<String> names = new java.util.ArrayList<>();
            h.fieldNames().forEachRemaining(names::add);
            names.stream().filter(n -> !n.equals("__metadata__")).forEach(n -> h.set("gpt_neox." + n, h.remove(n)));
        });
        EvocompressException e = assertThrows(EvocompressException.class, () -> CheckpointReader.open(copy.toString()));
        for (String part : List.of(weights.toString(), "'gpt_neox.", "'transformer.word_embeddings.weight'",
                "'word_embeddings.weight'", "model_type 'bloom'")) {
            assertTrue(e.getMessage().contains(part), "lacks " + part + ": " + e.getMessage());
        }
    }

    @Test
    void aPrefixlessCheckpointMissingATensorNamesItAsStored() {
        java.nio.file.Path copy = PrefixlessCheckpoints.copy(Fixtures.model("tiny-opt"), tmp.resolve("missing"));
        BadFiles.editHeader(copy.resolve("model.safetensors"), h -> h.remove("decoder.layers.2.fc1.bias"));
        try (CheckpointReader r = CheckpointReader.open(copy.toString())) {
            EvocompressException e = assertThrows(EvocompressException.class, () -> ModelLoader.load(r, ai.djl.Device.cpu(),
                ai.djl.ndarray.types.DataType.FLOAT32).close());
            assertTrue(e.getMessage().contains("is missing tensor 'decoder.layers.2.fc1.bias'"), e.getMessage());
            assertFalse(e.getMessage().contains("model.decoder"), e.getMessage());
        }
    }

    private static String readString(java.nio.file.Path file) {
        try {
            return java.nio.file.Files.readString(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
