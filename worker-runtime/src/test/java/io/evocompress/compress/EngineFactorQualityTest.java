package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.calibration.BlockHessians;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.calibration.DenseCalibration;
import io.evocompress.calibration.Hessian;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's float32 inverse-Hessian factor ({@link InverseFactor}) against the float64 Java
 * factor it replaced, on every linear layer of every block of stories260K and babyllama105 with real
 * calibration inputs: the layer error 1/2 sum_r dW_r H dW_r^T (undamped H, dW = W - W') of SparseGPT
 * at 50% and 70%, GPTQ at 3 and 4 bits (g128 where the layer is wider, else per channel) and joint
 * 50% + 4-bit stays within 1% of the float64 result. The engine path runs with Java blocks of 32
 * columns, so every layer (64 to 352 inputs) goes through the recursion's engine products.
 */
class EngineFactorQualityTest {
    private static final int LEAF = 32;
    private static final double TOLERANCE = 0.01;

    @Test
    void engineFactorGivesTheFloat64LayerErrorsOnStories260k() {
        check("stories260K", Fixtures.stories260k());
    }

    @Test
    void engineFactorGivesTheFloat64LayerErrorsOnBabyllama105() {
        check("babyllama105", Fixtures.babyllama105());
    }

    private static void check(String name, Path dir) {
        List<int[]> calibration = CalibrationFixtures.calibration(dir, RealLayers.CALIBRATION_SEQUENCES, RealLayers.SEQ_LEN);
        double worst = 0;
        int compared = 0;
        try (CausalLm model = CalibrationFixtures.load(dir);
             NDManager m = RealLayers.manager()) {
            List<BlockHessians> blocks = DenseCalibration.collect(model, calibration, 8, model.numBlocks());
            for (BlockHessians stats : blocks) {
                for (LinearName layer : LinearName.values()) {
                    NDArray w = model.block(stats.block()).weight(layer);
                    Shape s = w.getShape();
                    int cols = (int) s.get(1);
                    float[] dense = w.toFloatArray();
                    Hessian h = stats.hessian(layer);
                    PreparedHessian engine = PreparedHessian.of(h, 0.01, LEAF);
                    PreparedHessian reference = PreparedHessian.of(h, 0.01, Integer.MAX_VALUE);
                    NDArray weight = m.create(dense, s);
                    for (Method method : methods(cols)) {
                        double ours = layerError(dense, method.run.apply(engine).apply(weight), h);
                        double old = layerError(dense, method.run.apply(reference).apply(weight), h);
                        double relative = Math.abs(ours - old) / old;
                        worst = Math.max(worst, relative);
                        compared++;
                        assertTrue(relative <= TOLERANCE, String.format("%s block %d %s [%s], %s: layer error %.6g with the"
                            + " engine factor, %.6g with the float64 one (%.3f%% apart)", name, stats.block(), layer.path(),
                            s, method.name, ours, old, 100 * relative));
                    }
                }
            }
        }
        System.out.printf("%s: %d layer x method results, engine factor vs float64 at most %.3e%% apart%n", name, compared,
            100 * worst);
    }

    private record Method(String name, Function<PreparedHessian, Function<NDArray, CompressedLayer>> run) {
    }

    private static List<Method> methods(int cols) {
        QuantizationSpec q3 = UniformCompression.forLayer(QuantizationSpec.grouped(3, 128), cols);
        QuantizationSpec q4 = UniformCompression.forLayer(QuantizationSpec.grouped(4, 128), cols);
        return List.of(
            new Method("SparseGPT 50%", p -> w -> SparseGpt.compress(w, p, SparseGpt.Options.of(SparsityPattern.unstructured(0.5)))),
            new Method("SparseGPT 70%", p -> w -> SparseGpt.compress(w, p, SparseGpt.Options.of(SparsityPattern.unstructured(0.7)))),
            new Method("GPTQ 3-bit", p -> w -> Gptq.quantize(w, p, Gptq.Options.of(q3))),
            new Method("GPTQ 4-bit", p -> w -> Gptq.quantize(w, p, Gptq.Options.of(q4))),
            new Method("GPTQ 4-bit act-order", p -> w -> Gptq.quantize(w, p, Gptq.Options.of(q4).withActOrder(true))),
            new Method("SparseGPT 50% + 4-bit", p -> w -> SparseGpt.compress(w, p,
                SparseGpt.Options.of(SparsityPattern.unstructured(0.5)).withQuantization(q4))));
    }

    /** 1/2 sum_r (W - W')_r H (W - W')_r^T under the undamped H. */
    private static double layerError(float[] dense, CompressedLayer c, Hessian h) {
        return RealLayers.quadratic(dense, c.weight(), h) / 2;
    }
}
