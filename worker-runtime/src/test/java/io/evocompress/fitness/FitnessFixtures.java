package io.evocompress.fitness;

import ai.djl.ndarray.NDArray;
import io.evocompress.Fixtures;
import io.evocompress.calibration.BlockHessians;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.calibration.DenseCalibration;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.SparseGpt;
import io.evocompress.compress.SparsityPattern;
import io.evocompress.database.LayerVariant;
import io.evocompress.database.VariantStore;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * stories260K with a small real variant database: every linear layer pruned by SparseGPT (Hessians
 * from 16 calibration windows of 128 tokens) at levels -1, 0, +1 = 30%, 50%, 70% unstructured
 * sparsity; and a calibration pool of held-out sequences of mixed lengths. Built once per JVM.
 */
public final class FitnessFixtures {
    public static final int[] LEVELS = {-1, 0, 1};
    private static Map<String, Map<Integer, LayerVariant>> variants;

    private FitnessFixtures() {
    }

    public static String model() {
        return Fixtures.stories260k().toString();
    }

    public static double sparsity(int level) {
        return 0.5 + 0.2 * level;
    }

    /** 10 held-out sequences: 6 of 128 tokens, 4 of 96. */
    public static int[][] pool() {
        List<int[]> held = CalibrationFixtures.heldOut(Fixtures.stories260k(), 128);
        int[][] pool = new int[10][];
        for (int i = 0; i < pool.length; i++) {
            int[] s = held.get(i);
            pool[i] = i < 6 ? s : java.util.Arrays.copyOf(s, 96);
        }
        return pool;
    }

    public static synchronized Map<String, Map<Integer, LayerVariant>> variants() {
        if (variants == null) {
            List<int[]> calibration = CalibrationFixtures.calibration(Fixtures.stories260k(), 16, 128);
            Map<String, Map<Integer, LayerVariant>> all = new TreeMap<>();
            try (CausalLm model = CalibrationFixtures.load(Fixtures.stories260k())) {
                List<BlockHessians> hessians = DenseCalibration.collect(model, calibration, 8, model.numBlocks());
                for (int b = 0; b < model.numBlocks(); b++) {
                    for (LinearName n : LinearName.values()) {
                        NDArray w = model.block(b).weight(n);
                        Map<Integer, LayerVariant> levels = new HashMap<>();
                        for (int level : LEVELS) {
                            CompressedLayer c = SparseGpt.prune(w, hessians.get(b).hessian(n),
                                SparsityPattern.unstructured(sparsity(level)));
                            levels.put(level, new LayerVariant.Sparse(c.rows(), c.columns(), c.weight()));
                        }
                        all.put(CandidateSpec.layerName(b, n), Map.copyOf(levels));
                    }
                }
            }
            variants = all;
        }
        return variants;
    }

    public static List<String> layers() {
        return new ArrayList<>(variants().keySet());
    }

    /** The variants, in memory. */
    public static final class MapSource implements VariantSource {
        @Override
        public LayerVariant variant(String layer, int level) {
            Map<Integer, LayerVariant> levels = variants().get(layer);
            return levels == null ? null : levels.get(level);
        }
    }

    /** Writes the variants as a VariantStore (fp32 values) with one record per layer under {@code root}. */
    public static void writeStore(String root) {
        Path path = HadoopFiles.path(root);
        FileSystem fs = HadoopFiles.fileSystem(path, HadoopFiles.defaultConf());
        VariantStore store = new VariantStore(fs, path);
        variants().forEach((layer, levels) -> {
            List<VariantStore.LayerRecord.Level> records = new ArrayList<>();
            LayerVariant any = levels.values().iterator().next();
            for (int level : LEVELS) {
                VariantStore.StoredFile file = store.write(layer, level, levels.get(level), 4);
                records.add(new VariantStore.LayerRecord.Level(level, sparsity(level), null, 0.0, file));
            }
            store.writeRecord(new VariantStore.LayerRecord(layer, any.rows(), any.cols(), "test", records, null));
        });
    }

    /** Reads variants from a store written by {@link #writeStore}, as the executors of a job would. */
    public static final class StoreSource implements VariantSource {
        private final VariantStore store;

        StoreSource(String root) {
            Path path = HadoopFiles.path(root);
            this.store = new VariantStore(HadoopFiles.fileSystem(path, HadoopFiles.defaultConf()), path);
        }

        @Override
        public LayerVariant variant(String layer, int level) {
            VariantStore.LayerRecord record = store.verifiedRecord(layer, "test");
            if (record == null) {
                return null;
            }
            return store.read(layer, record.level(level).file());
        }
    }

    /** Opens a {@link StoreSource} at the database location (shipped to executors). */
    public static final class StoreOpener implements VariantSourceOpener {
        private static final long serialVersionUID = 1L;

        @Override
        public VariantSource open(String location) {
            return new StoreSource(location);
        }
    }
}
