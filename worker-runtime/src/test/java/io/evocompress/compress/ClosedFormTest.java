package io.evocompress.compress;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.Hessian;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** SparseGPT and GPTQ on Hessians whose answers are known in closed form. */
class ClosedFormTest {

    @Test
    void removingOneOfTwoCorrelatedWeightsFollowsTheObsFormula() {
        // H = [[2, 1], [1, 2]] + 0.01 * 2 I; w = (0.1, 1.0): w1 has the lower w^2 / [H^-1]_11 and is pruned
        double a = 2.02;
        double b = 1;
        double det = a * a - b * b;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray w = m.create(new float[] {0.1f, 1.0f}, new Shape(1, 2));
            Hessian h = new Hessian(2, 1, new double[] {2, 1, 1, 2});
            CompressedLayer out = SparseGpt.prune(w, h, SparsityPattern.unstructured(0.5));
            // OBS: w2 += w1 * H12 / H22 (H^-1 = [[a, -b], [-b, a]] / det), loss = w1^2 / [H^-1]_11
            assertEquals(0f, out.weight()[0]);
            assertEquals(1.0 + 0.1 * b / a, out.weight()[1], 1e-6);
            assertEquals(0.01 * det / a / 2, out.errorEstimate(), 1e-9);
        }
    }

    @Test
    void aScaledIdentityHessianMakesSparseGptMagnitudePruningPerBlock() {
        int rows = 6;
        int cols = 256;  // two blocks of 128
        double c = 3;
        float[] w = random(rows * cols, 3);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            CompressedLayer out = SparseGpt.prune(m.create(w, new Shape(rows, cols)), scaledIdentity(cols, c),
                SparsityPattern.unstructured(0.5));
            // U = I / sqrt(1.01 c): no compensation; each block drops its 384 smallest |w|
            float[] expected = w.clone();
            double estimate = 0;
            for (int block = 0; block < 2; block++) {
                double[] magnitudes = new double[rows * 128];
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < 128; j++) {
                        magnitudes[r * 128 + j] = Math.abs(w[r * cols + block * 128 + j]);
                    }
                }
                double[] sorted = magnitudes.clone();
                Arrays.sort(sorted);
                double threshold = sorted[rows * 128 / 2 - 1];
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < 128; j++) {
                        int at = r * cols + block * 128 + j;
                        if (Math.abs(w[at]) <= threshold) {
                            expected[at] = 0;
                            estimate += (double) w[at] * w[at] * 1.01 * c / 2;
                        }
                    }
                }
            }
            assertArrayEquals(expected, out.weight());
            assertEquals(estimate, out.errorEstimate(), 1e-9 * estimate);
        }
    }

    @Test
    void aScaledIdentityHessianMakesGptqRoundToNearest() {
        int rows = 5;
        int cols = 96;
        float[] w = random(rows * cols, 4);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray weight = m.create(w, new Shape(rows, cols));
            for (QuantizationSpec spec : new QuantizationSpec[] {QuantizationSpec.perChannel(3),
                QuantizationSpec.grouped(4, 32), QuantizationSpec.grouped(2, 32).withSymmetric(true)}) {
                CompressedLayer gptq = Gptq.quantize(weight, scaledIdentity(cols, 2), spec);
                CompressedLayer rtn = RoundToNearest.quantize(weight, spec);
                assertArrayEquals(rtn.weight(), gptq.weight(), spec.toString());
                assertArrayEquals(rtn.quantized().packedCodes(), gptq.quantized().packedCodes(), spec.toString());
            }
        }
    }

    @Test
    void deadInputsAreZeroedAndTheRestKept() {
        // input 1 never fires (H_11 = 0): its weights cannot matter on the calibration data
        Hessian h = new Hessian(3, 4, new double[] {2, 0, 1, 0, 0, 0, 1, 0, 2});
        float[] w = {0.5f, 7f, -0.25f, 1f, -3f, 2f};
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            CompressedLayer out = SparseGpt.prune(m.create(w, new Shape(2, 3)), h, SparsityPattern.unstructured(0));
            assertArrayEquals(new float[] {0.5f, 0f, -0.25f, 1f, 0f, 2f}, out.weight());
            assertEquals(0, out.errorEstimate());
        }
    }

    @Test
    void badShapesAndPatternsFailWithTheRule() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray w = m.create(new float[12], new Shape(2, 6));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparseGpt.prune(w, scaledIdentity(5, 1), SparsityPattern.unstructured(0.5)));
            assertEquals(true, e.getMessage().contains("6 input features"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                () -> Wanda.prune(w, new double[6], SparsityPattern.nOfM(2, 4)));
            assertEquals(true, e.getMessage().contains("divisible by 4"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> SparsityPattern.unstructured(1.0));
            assertThrows(IllegalArgumentException.class, () -> new QuantizationSpec(9, 0, false));
            assertThrows(IllegalArgumentException.class,
                () -> Gptq.Options.of(QuantizationSpec.grouped(4, 48)));
        }
    }

    @Test
    void packedCodesRoundTripAtEveryWidth() {
        SplittableRandom random = new SplittableRandom(8);
        for (int bits = 2; bits <= 8; bits++) {
            int[] codes = new int[101];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = random.nextInt(1 << bits);
            }
            int[] words = BitPacking.pack(codes, bits);
            assertEquals((codes.length * bits + 31) / 32, words.length);
            for (int i = 0; i < codes.length; i++) {
                assertEquals(codes[i], BitPacking.get(words, bits, i), "bits " + bits + " index " + i);
            }
            // the on-disk form: exactly ceil(bits * n / 8) bytes, same codes back
            byte[] bytes = BitPacking.packBytes(codes, bits);
            assertEquals((codes.length * bits + 7) / 8, bytes.length);
            org.junit.jupiter.api.Assertions.assertArrayEquals(codes, BitPacking.unpackBytes(bytes, bits, codes.length));
        }
        assertThrows(IllegalArgumentException.class, () -> BitPacking.pack(new int[] {8}, 3));
    }

    private static Hessian scaledIdentity(int n, double c) {
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            h[i * n + i] = c;
        }
        return new Hessian(n, 1, h);
    }

    private static float[] random(int size, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] w = new float[size];
        for (int i = 0; i < size; i++) {
            w[i] = (float) random.nextGaussian();
        }
        return w;
    }
}
