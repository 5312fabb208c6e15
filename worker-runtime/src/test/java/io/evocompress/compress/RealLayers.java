package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.calibration.BlockHessians;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.calibration.DenseCalibration;
import io.evocompress.calibration.Hessian;
import io.evocompress.calibration.InputStatistics;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Real linear layers of block 1 of the fixture models, with the statistics of their inputs on 32
 * calibration windows of 128 tokens (TinyStories train head, fixed seed) and on held-out sequences
 * (the separate TinyStories sample). Loaded once per JVM and shared by the compressor tests.
 */
final class RealLayers {
    static final int BLOCK = 1;
    static final int CALIBRATION_SEQUENCES = 32;
    static final int SEQ_LEN = 128;
    static final List<LinearName> LAYERS =
        List.of(LinearName.Q_PROJ, LinearName.K_PROJ, LinearName.O_PROJ, LinearName.GATE_PROJ, LinearName.DOWN_PROJ);

    /** One layer: weight (rows, cols) and its input statistics on calibration and held-out data. */
    record Layer(String model, LinearName name, int rows, int cols, float[] weight, InputStatistics calibration,
                 InputStatistics heldOut) {
        NDArray array(NDManager manager) {
            return manager.create(weight, new Shape(rows, cols));
        }

        double calibrationError(CompressedLayer c) {
            return OutputError.relative(weight, c.weight(), calibration.hessian());
        }

        double heldOutError(CompressedLayer c) {
            return OutputError.relative(weight, c.weight(), heldOut.hessian());
        }

        @Override
        public String toString() {
            return model + " block " + BLOCK + " " + name.path() + " [" + rows + "x" + cols + "]";
        }
    }

    private static final Map<String, List<Layer>> CACHE = new ConcurrentHashMap<>();

    private RealLayers() {
    }

    static List<Layer> stories260k() {
        return CACHE.computeIfAbsent("stories260K", name -> load(name, Fixtures.stories260k()));
    }

    static List<Layer> babyllama105() {
        return CACHE.computeIfAbsent("babyllama105", name -> load(name, Fixtures.babyllama105()));
    }

    static List<Layer> all() {
        List<Layer> all = new ArrayList<>(stories260k());
        all.addAll(babyllama105());
        return all;
    }

    private static List<Layer> load(String name, java.nio.file.Path dir) {
        List<int[]> calibration = CalibrationFixtures.calibration(dir, CALIBRATION_SEQUENCES, SEQ_LEN);
        List<int[]> heldOut = CalibrationFixtures.heldOut(dir, SEQ_LEN);
        try (CausalLm model = CalibrationFixtures.load(dir)) {
            BlockHessians calib = DenseCalibration.collect(model, calibration, 8, BLOCK + 1).get(BLOCK);
            BlockHessians held = DenseCalibration.collect(model, heldOut, 8, BLOCK + 1).get(BLOCK);
            System.out.printf("%s: calibration %d x %d tokens, held-out %d x %d tokens%n",
                name, calibration.size(), SEQ_LEN, heldOut.size(), SEQ_LEN);
            List<Layer> layers = new ArrayList<>();
            for (LinearName layer : LAYERS) {
                NDArray w = model.block(BLOCK).weight(layer);
                Shape s = w.getShape();
                layers.add(new Layer(name, layer, (int) s.get(0), (int) s.get(1), w.toFloatArray(),
                    calib.forLayer(layer), held.forLayer(layer)));
            }
            return List.copyOf(layers);
        }
    }

    static NDManager manager() {
        return NDManager.newBaseManager(Device.cpu());
    }

    /** H + 0.01 mean(diag H) I, the Hessian the OBS loop works with (these layers have no dead inputs). */
    static Hessian damped(Hessian h) {
        int n = h.dim();
        double[] v = h.values().clone();
        double mean = 0;
        for (int i = 0; i < n; i++) {
            if (v[i * n + i] == 0) {
                throw new IllegalStateException("unexpected dead input " + i);
            }
            mean += v[i * n + i] / n;
        }
        for (int i = 0; i < n; i++) {
            v[i * n + i] += 0.01 * mean;
        }
        return new Hessian(n, h.sequences(), v);
    }

    /** sum_r (W - W')_r H (W - W')_r^T, i.e. 2 / n * ||(W - W') X^T||^2. */
    static double quadratic(float[] w, float[] compressed, Hessian h) {
        return OutputError.squared(w, compressed, h) * 2 / h.sequences();
    }
}
