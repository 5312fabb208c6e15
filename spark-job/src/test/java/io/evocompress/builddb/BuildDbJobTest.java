package io.evocompress.builddb;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.calibration.HessianFile;
import io.evocompress.calibration.InputGroup;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.Float16;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.Gptq;
import io.evocompress.compress.InverseFactor;
import io.evocompress.compress.OutputError;
import io.evocompress.compress.QuantizationSpec;
import io.evocompress.compress.SparseGpt;
import io.evocompress.compress.SparsityPattern;
import io.evocompress.config.JobConfig;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.database.LayerLevels;
import io.evocompress.database.LayerVariant;
import io.evocompress.database.VariantDatabase;
import io.evocompress.database.VariantStore;
import io.evocompress.schedule.ScheduleJob;
import io.evocompress.spark.SparkContexts;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * build-db on the embedded Spark master, stories260K: the database at level 0 everywhere is the
 * uniform SparseGPT model at the target (layer by layer, exactly, with the database's own Hessians),
 * the bits database is GPTQ; a build with two layer records deleted and a variant file corrupted
 * rebuilds exactly those layers, and every file then has the bytes of the uninterrupted build; a
 * rerun reuses everything; settings errors name the setting.
 */
public class BuildDbJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        Fixtures.root();
        sc = SparkContexts.start("test");
    }

    @AfterAll
    static void stop() {
        if (sc != null) {
            sc.close();
        }
    }

    static JobConfig config(Path out, String domain, String... overrides) {
        return config(Fixtures.stories260k(), out, domain, overrides);
    }

    /** A small build-db configuration (6 x 64 calibration tokens in 2 shards; sparsity L = 2, or bits 3 and 4). */
    public static JobConfig config(Path model, Path out, String domain, String... overrides) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", model.toString());
        root.put("output", out.toString());
        ObjectNode cal = root.putObject("calibration");
        cal.put("data", Fixtures.text("tinystories_train_head.txt").toString());
        cal.put("sequences", 6);
        cal.put("seq-len", 64);
        cal.put("shards", 2);
        ObjectNode db = root.putObject("database");
        db.put("domain", domain);
        if (domain.equals("sparsity")) {
            db.put("target", 0.7);
            db.put("max-level", 2);
        } else {
            db.putArray("bits").add(3).add(4);
        }
        return JobConfig.of(root, "test config", List.of(overrides));
    }

    @Test
    void eachBlockFactorisesOneHessianPerInputGroup(@TempDir Path tmp) throws Exception {
        // q, k, v share one input, gate and up another; o and down read their own: 4 factorisations per
        // block instead of 7, every level of every layer of a group from the one factor
        Path out = tmp.resolve("db");
        BuildDbSettings settings = BuildDbSettings.from(config(out, "sparsity"));
        long before = InverseFactor.factorisations();
        BuildDbJob.Outcome first = BuildDbJob.run(sc, settings, line -> { });
        assertEquals(35, first.layersBuilt());
        assertEquals(5 * InputGroup.values().length, InverseFactor.factorisations() - before);
        // resume with q_proj and v_proj of block 2 (one group) and down_proj of block 0 missing: 2 factorisations
        byte[] manifest = Files.readAllBytes(out.resolve("manifest.json"));
        Files.delete(out.resolve("manifest.json"));
        Files.delete(out.resolve("model.layers.2.self_attn.q_proj/layer.json"));
        Files.delete(out.resolve("model.layers.2.self_attn.v_proj/layer.json"));
        Files.delete(out.resolve("model.layers.0.mlp.down_proj/layer.json"));
        long resumedFrom = InverseFactor.factorisations();
        BuildDbJob.Outcome resumed = BuildDbJob.run(sc, settings, line -> { });
        assertEquals(3, resumed.layersBuilt());
        assertEquals(2, InverseFactor.factorisations() - resumedFrom);
        assertArrayEquals(manifest, Files.readAllBytes(out.resolve("manifest.json")));
    }

    @Test
    void levelZeroIsUniformSparseGptAndResumeRebuildsExactlyTheDamagedLayers(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("db");
        BuildDbSettings settings = BuildDbSettings.from(config(out, "sparsity"));
        BuildDbJob.Outcome first = BuildDbJob.run(sc, settings, line -> { });
        DatabaseManifest m = first.manifest();
        assertEquals(35, m.layers().size());
        assertEquals(35, first.layersBuilt());
        // delta default int(0.5 * 0.3 / 2 * 64^2) = 307; level +2 would leave k/v (32x64 = 2048 weights) with
        // round(0.7 * 2048) + 2 * 307 = 2048 zeros, so it does not exist there: 25 layers x 5 + 10 x 4
        assertEquals(307, m.compressor().get("delta").asLong());
        assertEquals(25 * 5 + 10 * 4, m.totals().variants());

        // (a) level 0 everywhere = SparseGPT at the target with the database's Hessian, fp16 values
        VariantDatabase db = VariantDatabase.open(out.toString());
        try (CheckpointReader checkpoint = CheckpointReader.open(Fixtures.stories260k().toString());
             NDManager manager = NDManager.newBaseManager()) {
            for (VariantStore.LayerRecord layer : m.layers()) {
                CompressedLayer expected = SparseGpt.compress(weight(checkpoint, manager, layer), hessian(out, layer),
                    SparseGpt.Options.of(SparsityPattern.unstructured(0.7)));
                float[] actual = db.variant(layer.name(), 0).dense();
                for (int i = 0; i < actual.length; i++) {
                    assertEquals(Float16.f16ToFloat(Float16.floatToF16(expected.weight()[i])), actual[i], layer.name() + " " + i);
                }
                assertEquals(expected.errorEstimate(), layer.level(0).error(), layer.name());
                assertEquals(0.7, layer.level(0).sparsity());
                // the dense output energy, from the layer task's device: OutputError's plain-Java form of
                // 1/2 sum_r w_r H w_r^T with the dense weight and the database's (undamped) Hessian
                double energy = OutputError.energy(checkpoint.readFloat(layer.name() + ".weight"), hessian(out, layer));
                assertTrue(energy > 0, layer.name());
                assertEquals(energy, layer.outputEnergy(), 1e-9 * energy, layer.name());
                assertEquals(layer.outputEnergy(), db.manifest().layer(layer.name()).outputEnergy(), layer.name());
                // the error estimate grows with the sparsity level
                assertTrue(layer.level(-2).error() < layer.level(0).error() && layer.level(0).error() < layer.level(1).error());
            }
        }
        // the scheduler's relative measure reads the recorded energies; for records without them (a database
        // built before they were recorded: here block 2's) it computes the same numbers on the driver, saying so once
        List<LayerTask> tasks = BuildDbJob.prepare(settings).layers();
        List<String> notices = new ArrayList<>();
        double[] recorded = ScheduleJob.outputEnergies(settings.model(), out.toString(), m, tasks, notices::add);
        assertTrue(notices.isEmpty(), notices.toString());
        List<VariantStore.LayerRecord> older = m.layers().stream().map(l -> !l.name().startsWith("model.layers.2.") ? l
            : new VariantStore.LayerRecord(l.name(), l.rows(), l.cols(), l.settingsHash(), l.levels(), null)).toList();
        DatabaseManifest olderManifest = new DatabaseManifest(m.formatVersion(), m.databaseId(), m.domain(), m.model(),
            m.calibration(), m.compressor(), m.compressorHash(), older, m.totals());
        double[] driver = ScheduleJob.outputEnergies(settings.model(), out.toString(), olderManifest, tasks, notices::add);
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.get(0).contains("computing 7 layers' energies on the driver"), notices.get(0));
        for (int i = 0; i < tasks.size(); i++) {
            String unit = tasks.get(i).unit();
            assertEquals(m.layer(unit).outputEnergy(), recorded[i], unit);
            assertEquals(recorded[i], driver[i], (unit.startsWith("model.layers.2.") ? 1e-12 : 0) * recorded[i], unit);
        }
        Map<String, byte[]> uninterrupted = files(out);
        assertTrue(uninterrupted.containsKey("manifest.json") && uninterrupted.containsKey("hessians/block-4/down.bin"));

        // a rerun reuses everything
        BuildDbJob.Outcome again = BuildDbJob.run(sc, settings, line -> { });
        assertTrue(again.reusedWhole());
        assertEquals(0, again.layersBuilt());

        // (b) two records deleted, one variant corrupted, no manifest: exactly those three are rebuilt
        Files.delete(out.resolve("manifest.json"));
        Files.delete(out.resolve("model.layers.1.self_attn.k_proj/layer.json"));
        Files.delete(out.resolve("model.layers.3.mlp.down_proj/layer.json"));
        Path variant = out.resolve("model.layers.4.mlp.up_proj/levelm1.bin");
        byte[] bytes = Files.readAllBytes(variant);
        bytes[bytes.length / 2] ^= 0x20;
        Files.write(variant, bytes);
        // (c) reading the corrupted variant names the file
        EvocompressException e = assertThrows(EvocompressException.class, () -> db.variant("model.layers.4.mlp.up_proj", -1));
        assertTrue(e.getMessage().contains("model.layers.4.mlp.up_proj/levelm1.bin"), e.getMessage());
        List<String> log = new ArrayList<>();
        BuildDbJob.Outcome resumed = BuildDbJob.run(sc, settings, log::add);
        assertEquals(3, resumed.layersBuilt());
        assertEquals(32, resumed.layersReused());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("Hessians: reusing 20 verified files")), log.toString());
        Map<String, byte[]> after = files(out);
        assertEquals(uninterrupted.keySet(), after.keySet());
        for (Map.Entry<String, byte[]> f : uninterrupted.entrySet()) {
            assertArrayEquals(f.getValue(), after.get(f.getKey()), f.getKey());
        }
    }

    @Test
    void bitsLevelsAreGptqAtThoseWidths(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("db");
        DatabaseManifest m = BuildDbJob.run(sc, BuildDbSettings.from(config(out, "bits")), line -> { }).manifest();
        assertEquals("bits", m.domain());
        VariantDatabase db = VariantDatabase.open(out.toString());
        try (CheckpointReader checkpoint = CheckpointReader.open(Fixtures.stories260k().toString());
             NDManager manager = NDManager.newBaseManager()) {
            for (VariantStore.LayerRecord layer : m.layers()) {
                assertEquals(List.of(3, 4), layer.levels().stream().map(VariantStore.LayerRecord.Level::level).toList());
                int cols = (int) layer.cols();
                // group size 128, clamped to the layer's 64 columns where it has fewer
                QuantizationSpec spec = cols <= 128 ? QuantizationSpec.perChannel(4) : QuantizationSpec.grouped(4, 128);
                CompressedLayer expected = Gptq.quantize(weight(checkpoint, manager, layer), hessian(out, layer), spec);
                LayerVariant.Quantized want = LayerLevels.toVariant(expected.quantized(), Math.min(128, cols));
                LayerVariant.Quantized got = (LayerVariant.Quantized) db.variant(layer.name(), 4);
                assertEquals(4, got.bits());
                assertArrayEquals(want.q(), got.q(), layer.name());
                assertArrayEquals(want.zeros(), got.zeros(), layer.name());
                for (int i = 0; i < got.scales().length; i++) {
                    assertEquals(Float16.f16ToFloat(Float16.floatToF16(want.scales()[i])), got.scales()[i]);
                }
                assertEquals(expected.errorEstimate(), layer.level(4).error());
                assertTrue(layer.level(3).error() > layer.level(4).error(), layer.name());
            }
        }
        // 4 bits is about a quarter of fp16 plus the scales and zeros
        DatabaseManifest.LevelTotal four = m.totals().levels().get(1);
        assertTrue(four.fractionOfDense() > 0.25 && four.fractionOfDense() < 0.3, four.toString());
    }

    @Test
    void float32HessiansAreHalfTheBytesAndMakeAnotherDatabase(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("db");
        BuildDbSettings settings = BuildDbSettings.from(config(out, "sparsity", "calibration.hessian-dtype=float32"));
        assertTrue(settings.hessianFloat32());
        List<String> log = new ArrayList<>();
        DatabaseManifest m = BuildDbJob.run(sc, settings, log::add).manifest();
        // printed before the build: the widest input is down_proj's 172 features (64 x 172)
        assertTrue(log.stream().anyMatch(l -> l.startsWith("layer task memory:") && l.contains("172 inputs, widest layer 64 x 172")),
            log.toString());
        // header 17 + H 172^2 float32 + sumSquares 172 float64 + crc 4
        assertEquals(17 + 4 * 172 * 172 + 8 * 172 + 4, Files.size(out.resolve("hessians/block-0/down.bin")));
        assertTrue(Files.readString(out.resolve("hessians/" + HessianJob.INDEX)).contains("\"hessianDtype\" : \"float32\""));
        assertFalse(m.databaseId().equals(BuildDbJob.prepare(BuildDbSettings.from(config(out, "sparsity"))).databaseId()));
        // each layer is SparseGPT on the float32-stored Hessian, read back
        VariantStore.LayerRecord layer = m.layer("model.layers.1.mlp.down_proj");
        try (CheckpointReader checkpoint = CheckpointReader.open(Fixtures.stories260k().toString());
             NDManager manager = NDManager.newBaseManager()) {
            CompressedLayer expected = SparseGpt.prune(weight(checkpoint, manager, layer), hessian(out, layer),
                SparsityPattern.unstructured(0.7));
            assertEquals(expected.errorEstimate(), layer.level(0).error());
        }
    }

    @Test
    void aTaskThatCannotFitFailsBeforeTheBuildNamingTheSizeAndTheSetting() {
        // 16384 inputs, rows 4096: H 2 GiB in float64; 5 GiB + 512 MiB in flight + 1 GiB of heap, 4 GiB in the engine
        LayerTaskMemory m = LayerTaskMemory.of("block 0 down input", 16384, 4096, false, false);
        long n2 = 16384L * 16384;
        assertEquals(20 * n2 + (512L << 20) + 16L * 4096 * 16384, m.heapBytes());
        assertEquals(16 * n2, m.engineBytes());
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> m.check(4L << 30, "spark.executor.memory", 0, "the GPU", "x"));
        assertTrue(e.getMessage().contains("16384 x 16384 Hessian in float64 2.0 GiB") && e.getMessage().contains("6.5 GiB")
            && e.getMessage().contains("but a task has 4.0 GiB: raise spark.executor.memory"), e.getMessage());
        EvocompressException gpu = assertThrows(EvocompressException.class,
            () -> m.check(0, "x", 2L << 30, "the GPU", "evaluation.device-memory"));
        assertTrue(gpu.getMessage().contains("4.0 GiB (4294967296 bytes) on the GPU") && gpu.getMessage().contains("device: cpu")
            && gpu.getMessage().contains("evaluation.device-memory"), gpu.getMessage());
        m.check(8L << 30, "x", 8L << 30, "the GPU", "x");
        // BLOOM-176B's dense_4h_to_h: 57344 inputs, 14336 rows, 3.3e9 Hessian entries, never one Java array: only
        // memory limits it. Heap: H and its damped copy in float64 and U in float32 (20 n^2), two 256 MiB row
        // blocks, the layer's weights (16 rows n): 74.0 GiB; engine: the factorisation's 16 n^2, 49.0 GiB
        long n = 57344;
        LayerTaskMemory bloom = LayerTaskMemory.of("block 0 down input", 57344, 14336, true, false);
        assertEquals(20 * n * n + (512L << 20) + 16L * 14336 * n, bloom.heapBytes());
        assertEquals(16 * n * n, bloom.engineBytes());
        assertTrue(bloom.describe().contains("74.0 GiB of Java heap") && bloom.describe().contains("49.0 GiB in the engine"),
            bloom.describe());
        bloom.check(80L << 30, "spark.executor.memory", 141L << 30, "the GPU", "x");   // an H200's 141 GB
        EvocompressException small = assertThrows(EvocompressException.class,
            () -> bloom.check(80L << 30, "x", 40L << 30, "the GPU", "evaluation.device-memory"));   // a 40 GB A100
        assertTrue(small.getMessage().contains("49.0 GiB") && small.getMessage().contains("40.0 GiB"), small.getMessage());
        // OPT-66B's fc2: 36864 inputs, 9216 rows; with act-order the permuted copy and its factor (32 n^2)
        long o = 36864;
        assertEquals(32 * o * o + (512L << 20) + 16L * 9216 * o,
            LayerTaskMemory.of("block 0 down input", 36864, 9216, false, true).heapBytes());
    }

    @Test
    void aSparseLevelFileOverTwoGibIsRefusedBeforeTheBuild(@TempDir Path tmp) {
        // BLOOM-176B's dense_4h_to_h: 14336 x 57344 weights; fp16 values fit a variant file, fp32 do not
        BuildDbJob.checkVariantFits(BuildDbSettings.from(config(tmp.resolve("db"), "sparsity")), "dense_4h_to_h", 14336,
            57344);
        EvocompressException e = assertThrows(EvocompressException.class, () -> BuildDbJob.checkVariantFits(
            BuildDbSettings.from(config(tmp.resolve("db"), "sparsity", "database.value-bytes=4")), "dense_4h_to_h", 14336,
            57344));
        assertTrue(e.getMessage().contains("dense_4h_to_h (14336 x 57344)") && e.getMessage().contains("database.value-bytes: 2"),
            e.getMessage());
    }

    @Test
    void badSettingsNameTheSettingBeforeSparkWork(@TempDir Path tmp) {
        Path out = tmp.resolve("db");
        assertMessage(() -> BuildDbSettings.from(config(out, "sparsity", "database.targt=0.5")), "database.targt");
        assertMessage(() -> BuildDbSettings.from(config(out, "sparsity", "database.target=1.5")), "database.target");
        assertMessage(() -> BuildDbSettings.from(config(out, "sparsity", "calibration.shards=9")), "calibration.shards");
        assertMessage(() -> BuildDbSettings.from(config(out, "sparsity", "database.bits=[2]")), "database.bits");
        assertMessage(() -> BuildDbSettings.from(config(out, "bits", "database.group-size=48")), "database.group-size");
        assertMessage(() -> BuildDbSettings.from(config(out, "bits", "database.bits=[1, 4]")), "database.bits");
        assertMessage(() -> BuildDbSettings.from(config(out, "bits", "database.domain=depth")), "database.domain");
        assertMessage(() -> BuildDbSettings.from(config(out, "sparsity", "calibration.seq-len=4096")), "calibration.seq-len");
        assertMessage(() -> BuildDbSettings.from(config(out, "sparsity", "calibration.hessian-dtype=float16")),
            "calibration.hessian-dtype");
        assertFalse(Files.exists(out));
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable e, String setting) {
        EvocompressException ex = assertThrows(EvocompressException.class, e);
        assertTrue(ex.getMessage().contains(setting), ex.getMessage());
    }

    static NDArray weight(CheckpointReader checkpoint, NDManager manager, VariantStore.LayerRecord layer) {
        return manager.create(checkpoint.readFloat(layer.name() + ".weight"), new Shape(layer.rows(), layer.cols()));
    }

    static io.evocompress.calibration.Hessian hessian(Path db, VariantStore.LayerRecord layer) throws Exception {
        String[] parts = layer.name().split("\\.");
        int block = Integer.parseInt(parts[2]);
        InputGroup group = InputGroup.of(io.evocompress.model.LinearName.parse(parts[4]));
        Path file = db.resolve(HessianJob.DIR).resolve(HessianJob.fileName(block, group));
        return HessianFile.decode(Files.readAllBytes(file), file.toString()).hessian();
    }

    /** Every file under root (relative path -> bytes), hidden files excepted. */
    static Map<String, byte[]> files(Path root) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String rel = root.relativize(p).toString();
                assertFalse(rel.contains("/.") || rel.startsWith("."), "left-over file " + rel);
                out.put(rel, Files.readAllBytes(p));
            }
        }
        return out;
    }
}
