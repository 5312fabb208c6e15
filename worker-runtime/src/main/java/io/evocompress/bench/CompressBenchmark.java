package io.evocompress.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.Hessian;
import io.evocompress.compress.Cholesky;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.Gptq;
import io.evocompress.compress.QuantizationSpec;
import io.evocompress.compress.QuantizedWeight;
import io.evocompress.compress.SparseGpt;
import io.evocompress.compress.SparsityPattern;
import io.evocompress.database.LayerVariant;
import io.evocompress.database.VariantCodec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Seconds per layer of SparseGPT and GPTQ next to the work no implementation of them can avoid, and
 * the database bytes of their output next to dense fp16.
 *
 * <p>Per layer shape: a random weight W ~ N(0, 0.02^2) and a positive-definite Hessian
 * H = (2/n) X^T X from n = 2 * in random inputs whose features have log-normal scales (so diag H
 * varies as it does in real models), dampened by 0.01 * mean(diag H). The unavoidable products are
 * the Cholesky factorisations that give U (H = L L^T, H^-1, U = chol(H^-1)), timed with the
 * project's own {@link Cholesky}, and one W-by-H sized product (rows x in x in), timed as a float32
 * DJL matmul on the CPU: the sweep's lazy updates total about half of that. The ratio is a method's
 * seconds over their sum. Every timing is the median of {@code iterations} runs.
 */
public final class CompressBenchmark {
    private static final double DAMPENING = 0.01;

    /** One method on one layer: seconds, ratio to the unavoidable work, encoded bytes. */
    public record MethodResult(String method, double seconds, double ratio, long bytes, double bytesVsFp16) {
    }

    /** One layer shape. */
    public record LayerResult(String layer, int rows, int cols, double choleskySeconds, double matmulSeconds,
                              long denseFp16Bytes, List<MethodResult> methods) {
    }

    private CompressBenchmark() {
    }

    /**
     * Times the down_proj shape [hidden x intermediate] and the gate_proj shape [intermediate x hidden].
     */
    public static List<LayerResult> run(int hidden, int intermediate, int iterations, Consumer<String> progress) {
        List<LayerResult> out = new ArrayList<>();
        out.add(layer("down_proj", hidden, intermediate, iterations, progress));
        out.add(layer("gate_proj", intermediate, hidden, iterations, progress));
        return out;
    }

    private static LayerResult layer(String name, int rows, int cols, int iterations, Consumer<String> progress) {
        String shape = name + " [" + rows + " x " + cols + "]";
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            progress.accept(shape + ": building H from " + 2 * cols + " random inputs");
            Hessian hessian = randomHessian(manager, cols, 2 * cols, 7L * cols + rows);
            float[] w = gaussian(new SplittableRandom(rows * 31L + cols), (long) rows * cols, 0.02);
            NDArray weight = manager.create(w, new Shape(rows, cols));
            double[] damped = damped(hessian);

            progress.accept(shape + ": timing the Cholesky factorisations (H, H^-1, U) in Java");
            double cholesky = median(iterations, () -> {
                Cholesky.upperFactorOfInverse(damped, cols);
                return null;
            });
            progress.accept(String.format("%s: Cholesky %.2f s", shape, cholesky));
            double matmul = timeProduct(manager, weight, damped, cols, iterations);
            progress.accept(String.format("%s: W-by-H product %.3f s", shape, matmul));
            double unavoidable = cholesky + matmul;

            long dense = VariantCodec.denseFp16Bytes(rows, cols);
            List<MethodResult> methods = new ArrayList<>();
            for (double sparsity : new double[] {0.5, 0.7}) {
                String method = "sparsegpt " + Math.round(sparsity * 100) + "%";
                CompressedLayer[] last = new CompressedLayer[1];
                double s = median(iterations, () -> last[0] = SparseGpt.prune(weight, hessian,
                    SparsityPattern.unstructured(sparsity)));
                long bytes = VariantCodec.encode(new LayerVariant.Sparse(rows, cols, last[0].weight()), 2).length;
                methods.add(new MethodResult(method, s, s / unavoidable, bytes, (double) bytes / dense));
                progress.accept(String.format("%s: %s %.2f s = %.2f x unavoidable, %d bytes = %.3f x fp16", shape, method,
                    s, s / unavoidable, bytes, (double) bytes / dense));
            }
            for (int bits : new int[] {3, 4}) {
                String method = "gptq " + bits + "-bit g128";
                CompressedLayer[] last = new CompressedLayer[1];
                double s = median(iterations, () -> last[0] = Gptq.quantize(weight, hessian,
                    QuantizationSpec.grouped(bits, 128)));
                long bytes = VariantCodec.encode(variant(last[0].quantized()), 2).length;
                methods.add(new MethodResult(method, s, s / unavoidable, bytes, (double) bytes / dense));
                progress.accept(String.format("%s: %s %.2f s = %.2f x unavoidable, %d bytes = %.3f x fp16", shape, method,
                    s, s / unavoidable, bytes, (double) bytes / dense));
            }
            return new LayerResult(name, rows, cols, cholesky, matmul, dense, methods);
        }
    }

    /** H = (2/n) X^T X with X (n, d) Gaussian, feature j scaled by exp(N(0, 0.5^2)). */
    static Hessian randomHessian(NDManager manager, int d, int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] scale = new double[d];
        for (int j = 0; j < d; j++) {
            scale[j] = Math.exp(0.5 * gauss(random));
        }
        float[] x = new float[Math.toIntExact((long) n * d)];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                x[i * d + j] = (float) (gauss(random) * scale[j]);
            }
        }
        try (NDManager scope = manager.newSubManager()) {
            NDArray xs = scope.create(x, new Shape(n, d));
            float[] h = xs.transpose().matMul(xs).mul(2.0 / n).toFloatArray();
            double[] values = new double[h.length];
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < d; j++) {
                    // symmetric exactly, whatever order the engine summed in
                    values[i * d + j] = 0.5 * ((double) h[i * d + j] + h[j * d + i]);
                }
            }
            return new Hessian(d, n, values);
        }
    }

    private static double[] damped(Hessian hessian) {
        int n = hessian.dim();
        double[] h = hessian.values().clone();
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += h[i * n + i] / n;
        }
        for (int i = 0; i < n; i++) {
            h[i * n + i] += DAMPENING * mean;
        }
        return h;
    }

    /** Median seconds of W (rows, d) @ H (d, d) in float32 on the CPU, after a warm-up. */
    private static double timeProduct(NDManager manager, NDArray weight, double[] h, int d, int iterations) {
        try (NDManager scope = manager.newSubManager()) {
            float[] hf = new float[h.length];
            for (int i = 0; i < h.length; i++) {
                hf[i] = (float) h[i];
            }
            NDArray hArray = scope.create(hf, new Shape(d, d));
            Supplier<Object> product = () -> {
                try (NDManager it = scope.newSubManager()) {
                    weight.tempAttach(it);
                    return weight.matMul(hArray).get(0, 0).getFloat();
                }
            };
            product.get();
            return median(iterations, product);
        }
    }

    /** The database form of a GPTQ result (columns in order: no act-order). */
    static LayerVariant.Quantized variant(QuantizedWeight q) {
        int rows = q.rows();
        int cols = q.columns();
        int[] codes = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                codes[r * cols + c] = q.code(r, c);
            }
        }
        int groupSize = q.groupSize() == 0 ? cols : q.groupSize();
        return new LayerVariant.Quantized(rows, cols, q.bits(), groupSize, codes, q.scales(), q.zeros(), null);
    }

    private static double median(int iterations, Supplier<Object> task) {
        double[] seconds = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            task.get();
            seconds[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        int mid = iterations / 2;
        return iterations % 2 == 1 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2;
    }

    private static float[] gaussian(SplittableRandom random, long count, double std) {
        float[] v = new float[Math.toIntExact(count)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (gauss(random) * std);
        }
        return v;
    }

    private static double gauss(SplittableRandom random) {
        // Box-Muller (SplittableRandom has no nextGaussian on Java 17)
        double u1 = 1 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
