package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads stories260K, rewrites it with {@link CheckpointWriter} (sharded F32, single-file BF16), loads
 * the result and compares its logits on the reference tokens with the original model's.
 */
class CheckpointRoundTripTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VOCAB = 512;

    private static java.nio.file.Path source;
    private static int[] ids;
    private static float[] originalLogits;
    private static ModelConfig originalConfig;

    @TempDir
    java.nio.file.Path tmp;

    @BeforeAll
    static void originalModel() {
        source = Fixtures.stories260k();
        ids = ModelFixtures.referenceIds();
        try (CheckpointReader original = CheckpointReader.open(source.toString())) {
            originalConfig = ModelLoader.config(original);
            originalLogits = ModelFixtures.logits(original, ids);
        }
    }

    /** Writes the original checkpoint to {@code out} (a local directory) and returns the output path. */
    private static Path write(java.nio.file.Path out, DType dtype, int shards, boolean overwrite) {
        Path target = HadoopFiles.path(out.toString());
        FileSystem fs = HadoopFiles.fileSystem(target, HadoopFiles.defaultConf());
        try (CheckpointReader original = CheckpointReader.open(source.toString())) {
            new CheckpointWriter(dtype, shards, overwrite).write(fs, target, original.configJson(),
                ModelFixtures.tensors(original), original.fileSystem(), original.dir());
        }
        return target;
    }

    /**
     * The entries of a local directory, hidden ones included (temporary output directories are hidden),
     * except the {@code .NAME.crc} checksum files Hadoop's local file system writes beside each file.
     */
    private static Set<String> names(java.nio.file.Path dir) throws IOException {
        try (Stream<java.nio.file.Path> s = Files.list(dir)) {
            Set<String> out = new HashSet<>();
            s.map(p -> p.getFileName().toString())
                .filter(n -> !(n.startsWith(".") && n.endsWith(".crc") && Files.isRegularFile(dir.resolve(n))))
                .forEach(out::add);
            return out;
        }
    }

    private static void assertSideFilesCopied(java.nio.file.Path out) throws IOException {
        for (String name : List.of("tokenizer.json", "tokenizer.model", "tokenizer_config.json")) {
            assertArrayEquals(Files.readAllBytes(source.resolve(name)), Files.readAllBytes(out.resolve(name)),
                name + " was not copied unchanged");
        }
    }

    @Test
    void shardedFloat32RoundTripIsExact() throws IOException {
        java.nio.file.Path parent = tmp.resolve("outputs");
        java.nio.file.Path out = parent.resolve("sharded");
        write(out, DType.F32, 3, false);

        assertEquals(Set.of("sharded"), names(parent), "temporary directories left beside the output");
        assertEquals(Set.of("config.json", "model.safetensors.index.json", "model-00001-of-00003.safetensors",
            "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
            "tokenizer.json", "tokenizer.model", "tokenizer_config.json"), names(out));
        assertSideFilesCopied(out);

        JsonNode index = JSON.readTree(out.resolve("model.safetensors.index.json").toFile());
        assertEquals(originalConfig.parameterCount() * 4, index.path("metadata").path("total_size").asLong());
        JsonNode weightMap = index.path("weight_map");
        assertEquals(47, weightMap.size());
        Set<String> shardsUsed = new HashSet<>();
        weightMap.forEach(f -> shardsUsed.add(f.asText()));
        assertEquals(3, shardsUsed.size(), "every shard holds some tensor: " + shardsUsed);
        assertEquals("float32", JSON.readTree(out.resolve("config.json").toFile()).path("torch_dtype").asText());

        try (CheckpointReader back = CheckpointReader.open(out.toString())) {
            assertTrue(back.isSharded());
            assertEquals(originalConfig, ModelLoader.config(back));
            float[] logits = ModelFixtures.logits(back, ids);
            double maxDiff = ModelFixtures.maxAbsDiff(originalLogits, logits);
            System.out.println("sharded F32 round trip: max |logit diff| = " + maxDiff);
            assertTrue(maxDiff <= 1e-6, "sharded F32 max |logit diff| = " + maxDiff);
        }
    }

    @Test
    void singleFileBfloat16RoundTripIsClose() throws IOException {
        java.nio.file.Path out = tmp.resolve("bf16");
        write(out, DType.BF16, 1, false);

        assertEquals(Set.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer.model",
            "tokenizer_config.json"), names(out));
        assertSideFilesCopied(out);
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("bfloat16", config.path("torch_dtype").asText());
        assertEquals(172, config.path("intermediate_size").asInt(), "other config fields are kept");

        try (CheckpointReader back = CheckpointReader.open(out.toString())) {
            assertFalse(back.isSharded());
            assertEquals(originalConfig, ModelLoader.config(back));
            for (String name : back.tensorFiles().keySet()) {
                assertEquals(DType.BF16, back.info(name).dtype(), name);
            }
            // The file is the 8-byte header length, the header, and 2 bytes per parameter.
            byte[] file = Files.readAllBytes(out.resolve("model.safetensors"));
            long headerLength = java.nio.ByteBuffer.wrap(file, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(file.length, 8 + headerLength + originalConfig.parameterCount() * 2);

            // Each weight is the original rounded to bf16, exactly.
            float[] embedBack = back.readFloat("model.embed_tokens.weight");
            try (CheckpointReader original = CheckpointReader.open(source.toString())) {
                float[] embed = original.readFloat("model.embed_tokens.weight");
                float[] rounded = new float[embed.length];
                for (int i = 0; i < embed.length; i++) {
                    rounded[i] = Float16.bf16ToFloat(Float16.floatToBf16(embed[i]));
                }
                assertArrayEquals(rounded, embedBack);
                assertTrue(ModelFixtures.maxAbsDiff(embed, embedBack) > 0, "embeddings were not rounded at all");
            }

            float[] logits = ModelFixtures.logits(back, ids);
            double maxDiff = ModelFixtures.maxAbsDiff(originalLogits, logits);
            double kl = ModelFixtures.klSum(originalLogits, logits, ids.length, VOCAB) / (ids.length - 1);
            System.out.printf("single-file BF16 round trip: max |logit diff| = %.6g, mean KL(orig || bf16) = %.6g nats%n",
                maxDiff, kl);
            // bf16 keeps 8 significant bits (relative error <= 2^-9 per weight). With logits of magnitude
            // about 10-20 that perturbs each logit by a few hundredths, up to ~0.1-0.2 at the worst of the
            // 131,072 logits (measured 0.134), and KL ~ var(noise)/2 ~ 1e-4 per position (measured 7.0e-5).
            // The bounds leave a 3.7x margin on the max and 14x on KL; a wrong dtype or byte order is far off.
            assertTrue(maxDiff > 0, "bf16 weights should change the logits at least a little");
            assertTrue(maxDiff < 0.5, "BF16 max |logit diff| = " + maxDiff);
            assertTrue(kl < 1e-3, "BF16 mean KL = " + kl);
        }
    }

    @Test
    void existingOutputIsKeptWithoutOverwrite() throws IOException {
        java.nio.file.Path out = tmp.resolve("existing");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "old checkpoint");

        EvocompressException e = assertThrows(EvocompressException.class, () -> write(out, DType.F32, 1, false));
        assertTrue(e.getMessage().contains(out.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(Set.of("keep.txt"), names(out), "the old directory was changed");
        assertEquals("old checkpoint", Files.readString(out.resolve("keep.txt")));
        assertEquals(Set.of("existing"), names(tmp), "temporary directories left beside the output");

        write(out, DType.F32, 1, true);
        assertEquals(Set.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer.model",
            "tokenizer_config.json"), names(out), "overwrite=true replaces the whole directory");
        assertEquals(Set.of("existing"), names(tmp));
    }
}
