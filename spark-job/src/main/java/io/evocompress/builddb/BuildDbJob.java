package io.evocompress.builddb;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.calibrate.CalibrationText;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TokenSequences;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantDatabase;
import io.evocompress.database.VariantStore;
import io.evocompress.database.WeightsFingerprint;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.Architecture;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelReference;
import io.evocompress.spark.JobProgress;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds (or resumes, or reuses) a variant database on Spark (ALGORITHMS.md sections 1-3):
 * <ol>
 *   <li>on the driver: the model's config hash, the calibration sequences (seeded random windows of
 *       the calibration text) and their hash, the compressor settings' hash, the database id;</li>
 *   <li>the Hessians ({@link HessianJob}: one task per calibration shard, then one per (block,
 *       input group)), skipped when already there for the same model and data;</li>
 *   <li>one task per (block, input group) with layers not yet built ({@link BuildLayer}): the layers
 *       reading one input (q, k, v; gate, up; o; down) share one factorisation of its H; each gets
 *       every level, its record last (with the full SHA-256 of the tensor it read, {@link TensorHashes}).
 *       Layers whose record carries this database id and whose files all verify are skipped, so a build
 *       that died part-way resumes where it stopped; a layer rebuilt whose tensor a record of this
 *       database hashed must read the same bytes;</li>
 *   <li>the manifest, written last and atomically.</li>
 * </ol>
 * A database whose manifest already carries the same id and verifies is reused as is.
 */
public final class BuildDbJob {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BuildDbJob() {
    }

    /** What the driver works out before Spark starts. */
    public record Inputs(BuildDbSettings settings, ModelConfig config, String configSha256, List<int[]> sequences,
                         String tokenIdsSha256, String databaseId, List<LayerTask> layers, String weightsSha256) {
        /** What the Hessians are keyed by: config.json and the weights ({@link WeightsFingerprint}). */
        public String modelSha256() {
            return VariantStore.sha256(("config " + configSha256 + "\nweights " + weightsSha256 + "\n")
                .getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The manifest, and what this run built and what it reused. */
    public record Outcome(DatabaseManifest manifest, int layersBuilt, int layersReused, boolean reusedWhole) {
    }

    /** Reads the model config and the calibration data; fails before any Spark work on bad input. */
    public static Inputs prepare(BuildDbSettings s) {
        return prepare(s, ModelReference.resolve(s.model()));
    }

    /** As {@link #prepare(BuildDbSettings)} for the model the command resolved. */
    public static Inputs prepare(BuildDbSettings s, ModelReference model) {
        ModelConfig config = model.config();
        String configSha = model.configSha256();
        String weightsSha = model.weightsSha256();
        int[] stream = CalibrationText.tokens(model, s.data());
        List<int[]> sequences = TokenSequences.sample(stream, s.seqLen(), (long) s.sequences() * s.seqLen(), s.seed());
        String tokenSha = tokenHash(sequences);
        // float32-stored Hessians give other layers: another database (float64 keeps the ids it always had)
        String id = DatabaseManifest.databaseId(configSha, weightsSha, tokenSha, s.shards(),
            s.compressor().hash() + (s.hessianFloat32() ? "\nhessian-dtype float32" : ""));
        Architecture arch = model.family();
        List<LayerTask> layers = new ArrayList<>();
        for (int b = 0; b < config.numLayers(); b++) {
            for (LinearName n : arch.linears(config)) {
                layers.add(new LayerTask(arch.unitName(b, n), b, n));
            }
        }
        return new Inputs(s, config, configSha, sequences, tokenSha, id, layers, weightsSha);
    }

    public static Outcome run(JavaSparkContext sc, BuildDbSettings settings, Consumer<String> progress) {
        return run(sc, prepare(settings), progress);
    }

    public static Outcome run(JavaSparkContext sc, Inputs in, Consumer<String> progress) {
        BuildDbSettings s = in.settings();
        Path root = HadoopFiles.path(s.output());
        FileSystem fs = outputFileSystem(root);
        VariantStore store = new VariantStore(fs, root);
        progress.accept("database " + root + ": id " + in.databaseId().substring(0, 16) + ", domain "
            + s.compressor().domain() + ", " + in.layers().size() + " layers");

        DatabaseManifest existing = existingManifest(fs, root, in.databaseId());
        // which layers are done: a record with this id whose files all verify
        Map<String, VariantStore.LayerRecord> records = new HashMap<>();
        List<LayerTask> todo = new ArrayList<>();
        HashMap<String, String> recordedTensors = new HashMap<>();  // what a layer rebuilt must read again
        for (LayerTask t : in.layers()) {
            VariantStore.LayerRecord r = store.verifiedRecord(t.unit(), in.databaseId(), progress);
            if (r != null) {
                records.put(t.unit(), r);
                TensorHashes.recorded(List.of(r)).forEach(recordedTensors::putIfAbsent);
            } else {
                todo.add(t);
                store.recordedTensorHashes(t.unit(), in.databaseId()).forEach(recordedTensors::putIfAbsent);
            }
        }
        if (existing != null && todo.isEmpty()) {
            progress.accept("database is complete and verifies: reusing it");
            return new Outcome(existing, 0, in.layers().size(), true);
        }
        progress.accept((in.layers().size() - todo.size()) + " layers already built and verified, " + todo.size() + " to build");

        if (!todo.isEmpty()) {
            LayerTaskMemory memory = memory(s, todo);
            progress.accept(memory.describe());
            checkMemory(sc, s, memory, progress);
            HessianJob.Index hessians = HessianJob.ensure(sc, s, in.config().numLayers(), in.sequences(),
                in.modelSha256(), in.tokenIdsSha256(), progress);
            List<String> built;
            // one task per (block, input group): the layers reading one input share one factorisation of its H
            List<InputGroupTask> groups = InputGroupTask.of(todo);
            JobProgress watch = new JobProgress(sc, "building " + todo.size() + " layers in " + groups.size()
                + " input-group tasks", 2000, progress);
            try (watch) {
                built = sc.parallelize(groups, groups.size())
                    .flatMap(new BuildLayer(s, in.databaseId(), new HashMap<>(hessians.checksums()), recordedTensors))
                    .collect();
            }
            try {
                for (String json : built) {
                    VariantStore.LayerRecord r = JSON.readValue(json, VariantStore.LayerRecord.class);
                    records.put(r.name(), r);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("A layer task returned an unreadable record", e);
            }
        }
        List<VariantStore.LayerRecord> ordered = new ArrayList<>();
        for (LayerTask t : in.layers()) {
            ordered.add(records.get(t.unit()));
        }
        // the tensors no layer task read (embeddings, norms, biases, lm_head): hashed whole once, here, so that
        // what reads them against this database (search's candidate workers) can check them (TensorHashes)
        java.util.TreeMap<String, String> others;
        try (CheckpointReader checkpoint = CheckpointReader.open(s.model())) {
            others = TensorHashes.unrecorded(checkpoint, TensorHashes.recorded(ordered));
        }
        DatabaseManifest manifest = new DatabaseManifest(DatabaseManifest.FORMAT_VERSION, in.databaseId(),
            s.compressor().domain(),
            new DatabaseManifest.Model(s.model(), in.configSha256(), in.config().modelType(), in.config().numLayers(),
                in.config().hiddenSize(), in.weightsSha256(), others),
            new DatabaseManifest.Calibration(s.data(), in.tokenIdsSha256(), s.sequences(), s.seqLen(), s.seed(), s.shards()),
            s.compressor().toJson(), s.compressor().hash(), ordered, DatabaseManifest.totals(ordered));
        deleteTemporaries(fs, root);
        VariantDatabase.writeManifest(fs, root, manifest);
        progress.accept("manifest written: " + new Path(root, VariantDatabase.MANIFEST));
        return new Outcome(manifest, todo.size(), in.layers().size() - todo.size(), false);
    }

    /** The largest task's memory: the input group of most features (its widest layer), from the checkpoint's shapes. */
    static LayerTaskMemory memory(BuildDbSettings s, List<LayerTask> todo) {
        LayerTaskMemory widest = null;
        try (CheckpointReader checkpoint = CheckpointReader.open(s.model())) {
            for (InputGroupTask g : InputGroupTask.of(todo)) {
                int n = 0;
                int rows = 0;
                for (LayerTask t : g.layers()) {
                    long[] shape = io.evocompress.model.TensorLayout.unitShape(checkpoint, t.unit() + ".weight");
                    rows = Math.max(rows, Math.toIntExact(shape[0]));
                    n = Math.toIntExact(shape[1]);
                    checkVariantFits(s, t.unit(), shape[0], shape[1]);
                }
                LayerTaskMemory m = LayerTaskMemory.of("block " + g.block() + " " + g.group().name().toLowerCase(java.util.Locale.ROOT)
                    + " input", n, rows, s.hessianFloat32(), s.compressor().actOrder());
                if (widest == null || m.heapBytes() > widest.heapBytes()) {
                    widest = m;
                }
            }
        }
        return widest;
    }

    /**
     * A sparse level's file is encoded in one Java buffer (VariantCodec, at most 2 GiB): its bitmask and,
     * at worst (level 0 of a low target), every value. Fails before the build for a layer that could not be
     * written, naming the setting that halves it.
     */
    static void checkVariantFits(BuildDbSettings s, String unit, long rows, long cols) {
        if (!s.compressor().isSparsity()) {
            return; // packed codes: at most 6 bits a weight
        }
        long numel = rows * cols;
        long bound = numel / 8 + numel * s.compressor().sparseValueBytes() + 64;
        if (bound > Integer.MAX_VALUE - 8) {
            throw new EvocompressException(String.format(java.util.Locale.ROOT, "%s (%d x %d) could need up to %d bytes "
                + "per sparse level file with database.value-bytes: %d, over the 2 GiB a variant file is encoded in%s.",
                unit, rows, cols, bound, s.compressor().sparseValueBytes(),
                s.compressor().sparseValueBytes() == 4 ? ": use database.value-bytes: 2 (fp16 values)" : ""));
        }
    }

    /**
     * Fails before the build when the widest task cannot fit: the Java heap of the local master's JVM or
     * of an executor (spark.executor.memory), and the device's memory: {@code evaluation.device-memory}
     * when set, else the free memory of the GPU the driver sees, or on a local master the host's
     * available native memory for the CPU engine (on a cluster's CPU executors, unknown unless set).
     */
    private static void checkMemory(JavaSparkContext sc, BuildDbSettings s, LayerTaskMemory memory,
                                    Consumer<String> progress) {
        boolean local = sc.master().startsWith("local");
        long heap = local ? Runtime.getRuntime().maxMemory()
            : sc.getConf().contains("spark.executor.memory") ? sc.getConf().getSizeAsBytes("spark.executor.memory") : 0;
        String setting = local ? "the JVM heap (EVOCOMPRESS_HEAP for deploy/evocompress, else -Xmx)" : "spark.executor.memory";
        boolean gpu = !s.device().equals("cpu") && ai.djl.util.cuda.CudaUtils.hasCuda();
        String deviceName = gpu ? "the GPU" : "the CPU engine's native memory";
        long device = s.residency().deviceMemory();
        String source = "evaluation.device-memory";
        if (device <= 0 && gpu) {
            device = io.evocompress.device.DeviceMemory.free(ai.djl.Device.gpu());
            source = "free on the driver's GPU as CUDA reports it; evaluation.device-memory overrides";
        } else if (device <= 0 && local) {
            device = io.evocompress.device.DeviceMemory.free(ai.djl.Device.cpu());
            source = "the host's available memory less the heap's growth; evaluation.device-memory overrides";
        }
        progress.accept(String.format(java.util.Locale.ROOT, "layer task budget: %s of Java heap (%s), %s on %s (%s)",
            heap > 0 ? LayerTaskMemory.gib(heap) : "unknown", setting, device > 0 ? LayerTaskMemory.gib(device) : "unknown",
            deviceName, device > 0 ? source : "set evaluation.device-memory to check it"));
        memory.check(heap, setting, device, deviceName, source);
    }

    /** The manifest at root if it is of this database, null if none; an error if it is another database's. */
    private static DatabaseManifest existingManifest(FileSystem fs, Path root, String id) {
        if (!HadoopFiles.exists(fs, new Path(root, VariantDatabase.MANIFEST))) {
            return null;
        }
        DatabaseManifest m;
        try {
            m = VariantDatabase.open(fs, root).manifest();
        } catch (EvocompressException e) {
            return null; // unreadable manifest: rebuild what does not verify and write it again
        }
        if (!m.databaseId().equals(id)) {
            if (m.model() != null && m.model().weightsSha256() == null) {
                throw new EvocompressException(root + " holds a variant database built before databases recorded the model's "
                    + "weights (id " + m.databaseId() + "), so it cannot be told apart from one built from other weights: "
                    + "delete it to rebuild, or choose another output.");
            }
            throw new EvocompressException(root + " already holds another variant database (id " + m.databaseId()
                + ", built from other model, data or settings than this one, id " + id
                + "): choose another output or delete it.");
        }
        return m;
    }

    /**
     * The output's file system; on the local file system without .crc side files, so that the
     * database's files are exactly the same set on every file system.
     */
    public static FileSystem outputFileSystem(Path root) {
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        if (fs instanceof LocalFileSystem) {
            fs.setWriteChecksum(false);
        }
        return fs;
    }

    /** Deletes the temporary files ({@code .NAME.tmp-UUID}) a killed build may have left in {@code dir}. */
    static void deleteTemporaries(FileSystem fs, Path dir) {
        try {
            if (!fs.exists(dir)) {
                return;
            }
            for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(dir)) {
                String n = st.getPath().getName();
                if (st.isFile() && n.startsWith(".") && n.contains(".tmp-")) {
                    fs.delete(st.getPath(), false);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot clean up temporary files in " + dir, e);
        }
    }

    /** SHA-256 of the calibration sequences: count, then each sequence's length and ids, int32 little-endian. */
    public static String tokenHash(List<int[]> sequences) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            md.update(b.putInt(0, sequences.size()).array());
            for (int[] seq : sequences) {
                ByteBuffer buf = ByteBuffer.allocate(4 + 4 * seq.length).order(ByteOrder.LITTLE_ENDIAN);
                buf.putInt(seq.length);
                for (int id : seq) {
                    buf.putInt(id);
                }
                md.update(buf.array());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
