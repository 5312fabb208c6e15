package io.evocompress.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.calibration.Hessian;
import io.evocompress.compress.Cholesky;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.Gptq;
import io.evocompress.compress.InverseFactor;
import io.evocompress.compress.PreparedHessian;
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
 * the factorisation giving the inverse-Hessian factor U (H^-1 = U^T U), timed as the compressors
 * compute it ({@link InverseFactor}, in the engine), and one W-by-H sized product (rows x in x in),
 * timed as a float32 DJL matmul on the CPU: the sweep's lazy updates total about half of that. The
 * ratio is a method's seconds over their sum. Optionally also the float64 Java factor the engine
 * path replaced ({@link Cholesky#upperFactorOfInverse}), for the speed-up. Every timing is the median
 * of {@code iterations} runs; a method's seconds include its factorisation (a fresh
 * {@link PreparedHessian} per run), as a layer compressed alone pays it.
 */
public final class CompressBenchmark {
    private static final double DAMPENING = 0.01;

    /** One method on one layer: seconds, ratio to the unavoidable work, encoded bytes. */
    public record MethodResult(String method, double seconds, double ratio, long bytes, double bytesVsFp16) {
    }

    /**
     * One layer shape.
     *
     * @param choleskySeconds          the engine factorisation giving U
     * @param referenceCholeskySeconds the float64 Java factorisation it replaced; NaN when not timed
     */
    public record LayerResult(String layer, int rows, int cols, double choleskySeconds, double referenceCholeskySeconds,
                              double matmulSeconds, long denseFp16Bytes, List<MethodResult> methods) {
    }

    /** The methods a run can time: SparseGPT at 50% or 70%, GPTQ at 3 or 4 bits (group size 128). */
    public enum Method {
        SPARSEGPT_50("sparsegpt-50", "sparsegpt 50%"), SPARSEGPT_70("sparsegpt-70", "sparsegpt 70%"),
        GPTQ_3("gptq-3", "gptq 3-bit g128"), GPTQ_4("gptq-4", "gptq 4-bit g128");

        private final String cliName;
        private final String label;

        Method(String cliName, String label) {
            this.cliName = cliName;
            this.label = label;
        }

        public String cliName() {
            return cliName;
        }

        /** Null when {@code name} is not a method. */
        public static Method parse(String name) {
            for (Method m : values()) {
                if (m.cliName.equals(name)) {
                    return m;
                }
            }
            return null;
        }
    }

    private CompressBenchmark() {
    }

    /**
     * Times the down_proj shape [hidden x intermediate] and the gate_proj shape [intermediate x hidden].
     */
    public static List<LayerResult> run(int hidden, int intermediate, int iterations, Consumer<String> progress) {
        List<Method> all = List.of(Method.values());
        List<LayerResult> out = new ArrayList<>();
        out.add(layer("down_proj", hidden, intermediate, iterations, all, false, progress));
        out.add(layer("gate_proj", intermediate, hidden, iterations, all, false, progress));
        return out;
    }

    /**
     * Times layers of the given shapes {rows, cols} (down_proj shapes [hidden x intermediate]) with
     * {@code methods}; with {@code reference}, also the float64 Java factorisation (O(n^3) scalar: about
     * a minute at 5632 inputs, a quarter of an hour at 14336).
     */
    public static List<LayerResult> run(List<int[]> shapes, List<Method> methods, boolean reference, int iterations,
                                        Consumer<String> progress) {
        List<LayerResult> out = new ArrayList<>();
        for (int[] shape : shapes) {
            out.add(layer("down_proj", shape[0], shape[1], iterations, methods, reference, progress));
        }
        return out;
    }

    private static LayerResult layer(String name, int rows, int cols, int iterations, List<Method> which,
                                     boolean reference, Consumer<String> progress) {
        String shape = name + " [" + rows + " x " + cols + "]";
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            progress.accept(shape + ": building H from " + 2 * cols + " random inputs");
            Hessian hessian = randomHessian(manager, cols, 2 * cols, 7L * cols + rows);
            float[] w = gaussian(new SplittableRandom(rows * 31L + cols), (long) rows * cols, 0.02);
            NDArray weight = manager.create(w, new Shape(rows, cols));
            double[] damped = damped(hessian);

            progress.accept(shape + ": timing the factorisation giving U (H^-1 = U^T U) in the engine");
            double cholesky = median(iterations, () -> InverseFactor.of(damped, cols, Device.cpu()));
            progress.accept(String.format("%s: factor %.2f s", shape, cholesky));
            double referenceCholesky = Double.NaN;
            if (reference) {
                progress.accept(shape + ": timing the float64 Java factorisation (H, H^-1, U) it replaced");
                referenceCholesky = median(iterations, () -> Cholesky.upperFactorOfInverse(damped, cols));
                progress.accept(String.format("%s: float64 Java factor %.2f s (%.1fx the engine's)", shape,
                    referenceCholesky, referenceCholesky / cholesky));
            }
            double matmul = timeProduct(manager, weight, damped, cols, iterations);
            progress.accept(String.format("%s: W-by-H product %.3f s", shape, matmul));
            double unavoidable = cholesky + matmul;

            long dense = VariantCodec.denseFp16Bytes(rows, cols);
            List<MethodResult> methods = new ArrayList<>();
            for (Method method : which) {
                CompressedLayer[] last = new CompressedLayer[1];
                double s = median(iterations, () -> last[0] = compress(method, weight, hessian));
                long bytes = method == Method.SPARSEGPT_50 || method == Method.SPARSEGPT_70
                    ? VariantCodec.encode(new LayerVariant.Sparse(rows, cols, last[0].weight()), 2).length
                    : VariantCodec.encode(variant(last[0].quantized()), 2).length;
                methods.add(new MethodResult(method.label, s, s / unavoidable, bytes, (double) bytes / dense));
                progress.accept(String.format("%s: %s %.2f s = %.2f x unavoidable, %d bytes = %.3f x fp16, estimate %.6g",
                    shape, method.label, s, s / unavoidable, bytes, (double) bytes / dense, last[0].errorEstimate()));
            }
            return new LayerResult(name, rows, cols, cholesky, referenceCholesky, matmul, dense, methods);
        }
    }

    private static CompressedLayer compress(Method method, NDArray weight, Hessian hessian) {
        PreparedHessian prepared = PreparedHessian.of(hessian, DAMPENING);
        return switch (method) {
            case SPARSEGPT_50 -> SparseGpt.compress(weight, prepared, SparseGpt.Options.of(SparsityPattern.unstructured(0.5)));
            case SPARSEGPT_70 -> SparseGpt.compress(weight, prepared, SparseGpt.Options.of(SparsityPattern.unstructured(0.7)));
            case GPTQ_3 -> Gptq.quantize(weight, prepared, Gptq.Options.of(QuantizationSpec.grouped(3, 128)));
            case GPTQ_4 -> Gptq.quantize(weight, prepared, Gptq.Options.of(QuantizationSpec.grouped(4, 128)));
        };
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
