package io.evocompress.structured;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.database.VariantStore;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.BlockShape;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LayerShapes;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.train.Trainer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The structured database of stories260K built in process, and models stitched from it: the smaller
 * model computes the zero-padded model's logits, survives export and reload, has the parameter count
 * its shapes imply, the uniform model removes exactly the target, and training-aware fine-tuning of a
 * candidate changes neither the database files nor the dense weights.
 */
class StructuredModelTest {
    @TempDir
    static java.nio.file.Path tmp;
    static java.nio.file.Path dbDir;
    static List<int[]> sequences;
    static StructuredDatabase.Manifest manifest;
    static final StructuredGrid GRID = new StructuredGrid(0.5, 10);

    @BeforeAll
    static void build() throws IOException {
        java.nio.file.Path model = Fixtures.stories260k();
        dbDir = tmp.resolve("db");
        try (CheckpointReader ckpt = CheckpointReader.open(model.toString());
             CausalLm dense = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32);
             TextTokenizer tok = TextTokenizer.load(ckpt.fileSystem(), ckpt.dir())) {
            Path text = HadoopFiles.path(Fixtures.text("tinystories_sample.txt").toString());
            int[] stream = TokenSequences.stream(tok, TextDocuments.read(HadoopFiles.fileSystem(text, HadoopFiles.defaultConf()), text),
                1, 0);
            sequences = TokenSequences.sample(stream, 128, 32L * 128, 7);
            Path root = HadoopFiles.path(dbDir.toString());
            VariantStore store = new VariantStore(HadoopFiles.fileSystem(root, HadoopFiles.defaultConf()), root);
            manifest = StructuredBuild.inProcess(dense, ckpt, sequences.subList(0, 16), 8, GRID, store, "test", "c", "t", null);
        }
    }

    /**
     * Each unit records the full SHA-256 of the layer it read, the manifest those of the other tensors; a
     * manifest written before these hashes (the fields absent) still opens, and nothing is checked.
     */
    @Test
    void theBuildRecordsEveryTensorsHashAndAnOlderManifestOpensUnchecked() throws IOException {
        java.nio.file.Path weights = Fixtures.stories260k().resolve("model.safetensors");
        String down = "model.layers.2.mlp.down_proj.weight";
        StructuredDatabase.Unit unit = manifest.unit(2, StructureGroup.MLP);
        assertEquals(Map.of(down, VariantStore.sha256(io.evocompress.BadFiles.tensorBytes(weights, down))), unit.tensorSha256());
        assertEquals(VariantStore.sha256(io.evocompress.BadFiles.tensorBytes(weights, "model.norm.weight")),
            manifest.otherTensorSha256().get("model.norm.weight"));
        assertEquals(37, manifest.otherTensorSha256().size());   // 47 tensors, 10 read by the units
        assertEquals(47, manifest.tensorSha256().size());

        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode old = (com.fasterxml.jackson.databind.node.ObjectNode)
            json.readTree(dbDir.resolve(StructuredDatabase.MANIFEST).toFile());
        old.remove("otherTensorSha256");
        old.get("units").forEach(u -> ((com.fasterxml.jackson.databind.node.ObjectNode) u).remove("tensorSha256"));
        java.nio.file.Path oldDir = Files.createDirectories(tmp.resolve("old-db"));
        Files.write(oldDir.resolve(StructuredDatabase.MANIFEST), json.writeValueAsBytes(old));
        StructuredDatabase.Manifest read = StructuredDatabase.open(oldDir.toString()).manifest();
        assertEquals(null, read.otherTensorSha256());
        assertEquals(null, read.unit(2, StructureGroup.MLP).tensorSha256());
        assertTrue(read.tensorSha256().isEmpty());
        assertTrue(io.evocompress.database.DenseTensorCheck.of(read.tensorSha256(), oldDir.toString())
            == io.evocompress.database.DenseTensorCheck.none(), "an older database is read unchecked");
    }

    @Test
    void levelsAreTenPercentStepsAroundTheUniformCount() {
        ModelConfig c = config();
        // 8 heads: 4 removed at level 0, one head per level, 0..7 removed
        assertEquals(List.of(-4, -3, -2, -1, 0, 1, 2, 3), GRID.levels(StructureGroup.ATTENTION, c));
        // 172 neurons: 86 at level 0, 17 per level, 1..171 removed
        assertArrayEquals(new int[] {1, 18, 35, 52, 69, 86, 103, 120, 137, 154, 171}, GRID.removedCounts(StructureGroup.MLP, c));
        assertEquals(2 * c.numLayers(), manifest.units().size());
    }

    @Test
    void smallerModelEqualsZeroPaddedModelAndSurvivesExport() throws IOException {
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.stories260k().toString())) {
            StructuredDatabase db = StructuredDatabase.open(dbDir.toString());
            StructuredModel m = StructuredModel.of(ckpt.configJson(), config(), ckpt::readFloat, db,
                new int[] {-4, 3, 0, -1, 2}, new int[] {4, -5, 0, 2, -2});
            Path small = HadoopFiles.path(tmp.resolve("small").toString());
            Path padded = HadoopFiles.path(tmp.resolve("padded").toString());
            FileSystem fs = HadoopFiles.fileSystem(small, HadoopFiles.defaultConf());
            StructuredModel.write(m.smaller(), m.smallerLayout(), m.smallerConfigJson(), fs, small, false, null, null);
            StructuredModel.write(m.padded(), m.denseLayout(), ckpt.configJson(), fs, padded, false, null, null);
            int[] ids = ModelFixtures.referenceIds();
            float[] a;
            float[] inMemory;
            try (CheckpointReader s = CheckpointReader.open(small.toString());
                 CausalLm loaded = ModelLoader.load(s, Device.cpu(), DataType.FLOAT32);
                 CausalLm built = m.loadSmaller(Device.cpu(), DataType.FLOAT32);
                 NDManager nd = NDManager.newBaseManager(Device.cpu())) {
                assertEquals(List.of(0, 7, 4, 3, 6), loaded.blockShapes().stream().map(b -> 8 - b.numHeads()).toList());
                assertEquals(List.of(154, 1, 86, 120, 52), loaded.blockShapes().stream().map(b -> 172 - b.intermediate()).toList());
                assertEquals(m.parameterCount(), loaded.parameterCount());
                long params = loaded.parameters().values().stream().mapToLong(x -> x.size()).sum();
                assertEquals(params, loaded.parameterCount());
                a = loaded.logits(nd.create(ids, new Shape(1, ids.length))).toFloatArray();
                inMemory = built.logits(nd.create(ids, new Shape(1, ids.length))).toFloatArray();
            }
            float[] p;
            try (CheckpointReader pc = CheckpointReader.open(padded.toString())) {
                p = ModelFixtures.logits(pc, ids);
            }
            assertArrayEquals(inMemory, a, "exported smaller model computes as the in-memory one");
            double diff = ModelFixtures.maxAbsDiff(a, p);
            assertTrue(diff < 1e-4, "smaller vs zero-padded logits differ by " + diff);
            // and it is not the dense model
            float[] dense = ModelFixtures.logits(ckpt, ids);
            assertTrue(ModelFixtures.maxAbsDiff(a, dense) > 1e-2);
            // padding the smaller model's tensors (what darwin does after post-training) puts every kept
            // head and neuron back at its dense index: exactly the padded stitch
            Map<String, float[]> smaller = m.smaller();
            Map<String, float[]> repadded = ZeroPadding.pad(config(), m.shapes(), m.keptNeurons(), smaller::get);
            Map<String, float[]> expected = m.padded();
            assertEquals(expected.keySet(), repadded.keySet());
            expected.forEach((name, values) -> assertArrayEquals(values, repadded.get(name), name));
        }
    }

    @Test
    void uniformModelRemovesExactlyHalfThePrunableParameters() {
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.stories260k().toString())) {
            ModelConfig c = config();
            StructuredDatabase db = StructuredDatabase.open(dbDir.toString());
            StructuredModel m = StructuredModel.of(ckpt.configJson(), c, ckpt::readFloat, db, new int[5], new int[5]);
            long prunable = (StructureGroup.ATTENTION.prunableParams(c) + StructureGroup.MLP.prunableParams(c)) * c.numLayers();
            long removed = c.parameterCount() - m.parameterCount();
            assertEquals(prunable / 2, removed);
            for (BlockShape s : m.shapes()) {
                assertEquals(4, s.numHeads());
                assertEquals(86, s.intermediate());
            }
            assertTrue(LayerShapes.parse(m.smallerConfigJson(), c, "x").size() == 5);
        }
    }

    @Test
    void fineTuningACandidateLeavesDatabaseAndDenseWeightsUntouched() throws IOException {
        Map<String, String> before = checksums(dbDir);
        Map<String, String> denseFiles = checksums(Fixtures.stories260k());
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.stories260k().toString());
             CausalLm dense = ModelLoader.load(ckpt, Device.cpu(), DataType.FLOAT32)) {
            Map<String, float[]> denseBefore = new TreeMap<>();
            dense.parameters().forEach((k, v) -> denseBefore.put(k, v.toFloatArray()));
            StructuredDatabase db = StructuredDatabase.open(dbDir.toString());
            StructuredModel m = StructuredModel.of(ckpt.configJson(), config(), ckpt::readFloat, db,
                new int[] {1, -1, 0, 0, 0}, new int[] {0, 0, 1, -1, 0});
            float[] snapshotBefore = db.snapshot(0, StructureGroup.ATTENTION, 1).weight().clone();
            List<int[]> fit = sequences.subList(16, 20);
            CandidateTraining.Outcome untrained = CandidateTraining.run(m, dense, List.of(), fit, Trainer.Settings.darwinLm(), 4);
            Trainer.Settings fast = new Trainer.Settings(1e-3, 0, 0, Trainer.Settings.darwinLm().adamW());
            CandidateTraining.Outcome trained = CandidateTraining.run(m, dense, sequences.subList(0, 8), fit, fast, 4);
            assertEquals(8, trained.steps());
            assertNotEquals(untrained.klDivergence(), trained.klDivergence());
            assertTrue(trained.nllPerToken() < untrained.nllPerToken(), "fine-tuning lowers held-out NLL: "
                + untrained.nllPerToken() + " -> " + trained.nllPerToken());
            dense.parameters().forEach((k, v) -> assertArrayEquals(denseBefore.get(k), v.toFloatArray(), k));
            assertArrayEquals(snapshotBefore, db.snapshot(0, StructureGroup.ATTENTION, 1).weight());
        }
        assertEquals(before, checksums(dbDir), "database files unchanged by fine-tuning");
        assertEquals(denseFiles, checksums(Fixtures.stories260k()), "dense checkpoint unchanged");
    }

    static Map<String, String> checksums(java.nio.file.Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<java.nio.file.Path> files = Files.walk(dir)) {
            for (java.nio.file.Path f : files.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(f).toString(), VariantStore.sha256(Files.readAllBytes(f)));
            }
        }
        return out;
    }

    static ModelConfig config() {
        try (CheckpointReader ckpt = CheckpointReader.open(Fixtures.stories260k().toString())) {
            return ModelLoader.config(ckpt);
        }
    }
}
