package io.evocompress.structured;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.calibration.Hessian;
import io.evocompress.compress.StructuredObs;
import io.evocompress.compress.StructuredSnapshot;
import io.evocompress.database.VariantStore;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.ModelConfig;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * DarwinLM's structured database (ALGORITHMS.md section 5), stored like the other databases through
 * {@link VariantStore}: one directory per (block, group) named after the pruned layer
 * ({@code model.layers.3.self_attn.o_proj}, {@code model.layers.3.mlp.down_proj}), one file per level
 * ({@code levelm2.bin}, {@code levelp0.bin}, ...: {@link StructuredCodec}), a {@code structured.json}
 * record written after its levels, and {@code manifest.json} written last. Each unit's snapshots
 * come from one greedy structured OBS run ({@link StructuredObs}) on the dense model's input Hessian
 * of the pruned layer; levels follow {@link StructuredGrid}. Readers verify sizes and SHA-256.
 */
public final class StructuredDatabase {
    public static final String MANIFEST = "manifest.json";
    public static final String UNIT_RECORD = "structured.json";
    public static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One level of a unit: its offset, the structures it removes, the OBS error estimate, its file. */
    public record Level(int level, int removed, double error, VariantStore.StoredFile file) {
    }

    /**
     * One (block, group): the pruned layer's directory name and its levels.
     *
     * @param tensorSha256 the full SHA-256 (hex) of each checkpoint tensor the unit's build read (the pruned
     *                     layer's weight, or the fused tensor holding it), by checkpoint name, hashed as it was
     *                     read ({@link io.evocompress.database.TensorHashes}); null in units built before these
     *                     hashes were recorded
     */
    public record Unit(String name, int block, String group, int structures, int width, String databaseId,
                       List<Level> levels, Map<String, String> tensorSha256) {
        public Level level(int level) {
            return levels.stream().filter(l -> l.level() == level).findFirst().orElseThrow(() ->
                new EvocompressException("unit " + name + " has no level " + level + " (levels "
                    + levels.stream().map(Level::level).toList() + ")"));
        }
    }

    /**
     * The whole database.
     *
     * @param databaseId        hash of model config, calibration tokens and grid
     * @param otherTensorSha256 the full SHA-256 (hex) of every checkpoint tensor no unit's build read
     *                          (embeddings, norms, the other linear layers, {@code lm_head}), hashed once when the
     *                          manifest was first written ({@link io.evocompress.database.TensorHashes#unrecorded});
     *                          null in manifests written before these hashes were recorded
     */
    public record Manifest(int formatVersion, String databaseId, String model, String modelConfigSha256,
                           String tokenIdsSha256, double target, int steps, List<Unit> units,
                           Map<String, String> otherTensorSha256) {
        public StructuredGrid grid() {
            return new StructuredGrid(target, steps);
        }

        public Unit unit(int block, StructureGroup group) {
            return units.stream().filter(u -> u.block() == block && u.group().equals(group.key())).findFirst()
                .orElseThrow(() -> new EvocompressException("the structured database has no unit for block " + block
                    + " " + group.key()));
        }

        /**
         * Every checkpoint tensor's recorded SHA-256: the units' and the other tensors'; empty for a database
         * built before the hashes were recorded (nothing is checked). What a dense model read against this
         * database is checked with ({@link io.evocompress.database.DenseTensorCheck#of}).
         */
        public Map<String, String> tensorSha256() {
            java.util.HashMap<String, String> all = recorded(units);
            if (otherTensorSha256 != null) {
                otherTensorSha256.forEach(all::putIfAbsent);
            }
            return Map.copyOf(all);
        }
    }

    private final VariantStore store;
    private final Manifest manifest;
    private final Map<String, StructuredSnapshot> cache = new ConcurrentHashMap<>();

    private StructuredDatabase(VariantStore store, Manifest manifest) {
        this.store = store;
        this.manifest = manifest;
    }

    /** The unit's directory name: the pruned layer's tensor prefix. */
    public static String unitName(ModelConfig c, int block, StructureGroup g) {
        return ArchitectureRegistry.forType(c.modelType(), "config").unitName(block, g.prunedLayer());
    }

    /**
     * Builds one unit: every level of {@code grid} from one greedy run, files then the record.
     *
     * @param weight       the dense pruned layer's weight [hidden, in], row-major
     * @param tensorSha256 the SHA-256 of the checkpoint tensors {@code weight} was read from, by name
     *                     ({@link io.evocompress.database.TensorHashes.Read#sha256}), recorded in the unit
     * @param device       where the greedy run's engine matmuls go (the task's GPU, else the CPU)
     */
    public static Unit buildUnit(VariantStore store, ModelConfig c, int block, StructureGroup g, float[] weight,
                                 Map<String, String> tensorSha256, Hessian hessian, StructuredGrid grid, String databaseId,
                                 Device device) {
        String name = unitName(c, block, g);
        List<Integer> levels = grid.levels(g, c);
        int[] counts = grid.removedCounts(g, c);
        List<StructuredSnapshot> snaps = StructuredObs.prune(weight, c.hiddenSize(), hessian, g.width(c), counts,
            StructuredObs.DAMP_RATIO, device);
        List<Level> out = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            byte[] bytes = StructuredCodec.encode(snaps.get(i));
            String file = VariantStore.fileName(levels.get(i));
            store.writeAtomically(new Path(store.layerDir(name), file), bytes);
            out.add(new Level(levels.get(i), counts[i], snaps.get(i).errorEstimate(),
                new VariantStore.StoredFile(file, bytes.length, VariantStore.sha256(bytes))));
        }
        Unit unit = new Unit(name, block, g.key(), g.structures(c), g.width(c), databaseId, out,
            tensorSha256 == null ? null : new java.util.TreeMap<>(tensorSha256));
        try {
            store.writeAtomically(new Path(store.layerDir(name), UNIT_RECORD), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(unit));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return unit;
    }

    /** The unit's record when it belongs to {@code databaseId} and every file verifies, else null. */
    public static Unit verifiedUnit(VariantStore store, String name, String databaseId) {
        Path record = new Path(store.layerDir(name), UNIT_RECORD);
        try {
            if (!store.fileSystem().exists(record)) {
                return null;
            }
            Unit u = JSON.readValue(store.readAll(record), Unit.class);
            if (!u.databaseId().equals(databaseId)) {
                return null;
            }
            for (Level l : u.levels()) {
                Path p = new Path(store.layerDir(name), l.file().name());
                if (!store.fileSystem().exists(p)) {
                    return null;
                }
                byte[] bytes = store.readAll(p);
                if (bytes.length != l.file().bytes() || !VariantStore.sha256(bytes).equals(l.file().sha256())) {
                    return null;
                }
            }
            return u;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The recorded SHA-256 of the units' tensors (units without them add nothing), by checkpoint name. */
    public static java.util.HashMap<String, String> recorded(List<Unit> units) {
        java.util.HashMap<String, String> out = new java.util.HashMap<>();
        for (Unit u : units) {
            if (u != null && u.tensorSha256() != null) {
                u.tensorSha256().forEach(out::putIfAbsent);
            }
        }
        return out;
    }

    /**
     * The manifest at {@code store}'s root when it belongs to {@code databaseId} and reads, else null (none,
     * another id, unreadable: the build writes a new one).
     */
    public static Manifest existingManifest(VariantStore store, String databaseId) {
        Path m = new Path(store.root(), MANIFEST);
        try {
            if (!store.fileSystem().exists(m)) {
                return null;
            }
            Manifest manifest = JSON.readValue(store.readAll(m), Manifest.class);
            return manifest.formatVersion() == FORMAT_VERSION && databaseId.equals(manifest.databaseId()) ? manifest : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    public static void writeManifest(VariantStore store, Manifest m) {
        try {
            store.writeAtomically(new Path(store.root(), MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static StructuredDatabase open(String location) {
        Path root = HadoopFiles.path(location);
        return open(HadoopFiles.fileSystem(root, HadoopFiles.defaultConf()), root);
    }

    public static StructuredDatabase open(FileSystem fs, Path root) {
        VariantStore store = new VariantStore(fs, root);
        Path m = new Path(root, MANIFEST);
        if (!HadoopFiles.exists(fs, m)) {
            throw new EvocompressException(root + " has no " + MANIFEST + ": the structured database build did not finish; rerun it");
        }
        try {
            Manifest manifest = JSON.readValue(store.readAll(m), Manifest.class);
            if (manifest.formatVersion() != FORMAT_VERSION) {
                throw new EvocompressException(m + " has format version " + manifest.formatVersion() + ", expected " + FORMAT_VERSION);
            }
            return new StructuredDatabase(store, manifest);
        } catch (IOException e) {
            throw new EvocompressException(m + " is not a structured database manifest: " + e.getMessage(), e);
        }
    }

    public Manifest manifest() {
        return manifest;
    }

    public VariantStore store() {
        return store;
    }

    /** The snapshot of one (block, group) at a level, verified (size, SHA-256, CRC) and cached per database. */
    public StructuredSnapshot snapshot(int block, StructureGroup g, int level) {
        Unit u = manifest.unit(block, g);
        Level l = u.level(level);
        return cache.computeIfAbsent(u.name() + "/" + l.file().name(), key -> {
            Path p = new Path(store.layerDir(u.name()), l.file().name());
            byte[] bytes = store.readAll(p);
            if (bytes.length != l.file().bytes() || !VariantStore.sha256(bytes).equals(l.file().sha256())) {
                throw new EvocompressException(p + " is corrupt or truncated: its size or SHA-256 differs from the manifest; "
                    + "rebuild the structured database");
            }
            return StructuredCodec.decode(bytes, p.toString());
        });
    }
}
