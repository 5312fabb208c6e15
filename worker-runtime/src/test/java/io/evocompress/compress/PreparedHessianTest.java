package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.Hessian;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * One prepared Hessian shared by several levels gives exactly the results of compressing with the
 * raw Hessian level by level (SparseGPT, GPTQ with and without act-order), including a dead input.
 */
class PreparedHessianTest {

    @Test
    void sharedFactorisationGivesTheSameLayersAsTheRawHessian() {
        int rows = 24;
        int cols = 40;
        SplittableRandom r = new SplittableRandom(7);
        double[] x = new double[200 * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian() * (1 + (i % cols) / 10.0);
        }
        double[] h = new double[cols * cols];
        for (int t = 0; t < 200; t++) {
            for (int i = 0; i < cols; i++) {
                for (int j = 0; j < cols; j++) {
                    h[i * cols + j] += 2.0 / 10 * x[t * cols + i] * x[t * cols + j];
                }
            }
        }
        // input 5 is dead
        for (int i = 0; i < cols; i++) {
            h[5 * cols + i] = 0;
            h[i * cols + 5] = 0;
        }
        Hessian hessian = new Hessian(cols, 10, h);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        PreparedHessian prepared = PreparedHessian.of(hessian, 0.01);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray weight = m.create(w, new Shape(rows, cols));
            for (double s : new double[] {0.3, 0.5, 0.7}) {
                SparseGpt.Options o = SparseGpt.Options.of(SparsityPattern.unstructured(s)).withBlockSize(16);
                CompressedLayer raw = SparseGpt.compress(weight, hessian, o);
                CompressedLayer shared = SparseGpt.compress(weight, prepared, o);
                assertArrayEquals(raw.weight(), shared.weight());
                assertEquals(raw.errorEstimate(), shared.errorEstimate());
            }
            for (int bits : new int[] {2, 4}) {
                for (boolean actOrder : new boolean[] {false, true}) {
                    Gptq.Options o = new Gptq.Options(QuantizationSpec.grouped(bits, 8), actOrder, 16, 0.01);
                    CompressedLayer raw = Gptq.quantize(weight, hessian, o);
                    CompressedLayer shared = Gptq.quantize(weight, prepared, o);
                    assertArrayEquals(raw.weight(), shared.weight());
                    assertArrayEquals(raw.quantized().packedCodes(), shared.quantized().packedCodes());
                    assertEquals(raw.errorEstimate(), shared.errorEstimate());
                }
            }
            // the dead input's column is zeroed, and the caller's array is not modified
            CompressedLayer c = SparseGpt.compress(weight, prepared, SparseGpt.Options.of(SparsityPattern.unstructured(0.1)));
            for (int row = 0; row < rows; row++) {
                assertEquals(0f, c.weight()[row * cols + 5]);
            }
            assertNotEquals(0f, weight.toFloatArray()[5]);
            // options asking for another dampening than the prepared one are refused
            assertThrows(IllegalArgumentException.class, () -> SparseGpt.compress(weight, prepared,
                new SparseGpt.Options(SparsityPattern.unstructured(0.5), null, 128, 0.1)));
        }
    }
}
