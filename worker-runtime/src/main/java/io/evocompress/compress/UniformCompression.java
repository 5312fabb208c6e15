package io.evocompress.compress;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.evocompress.calibration.BlockHessians;
import io.evocompress.calibration.DenseCalibration;
import io.evocompress.calibration.InputGroup;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Compresses every linear layer of every decoder block of a model with one method at one setting
 * (the uniform baseline of ALGORITHMS.md section 2), replacing the weights in the loaded model in
 * place. Embeddings, norms and the LM head are left as they are.
 *
 * <p>Choices:
 * <ul>
 *   <li>Calibration follows section 1: every block's statistics come from the <b>dense</b> model's
 *       activations ({@link DenseCalibration}); a block's weights are replaced only after its
 *       statistics are complete and the dense outputs that feed the next block are computed, so the
 *       compressed weights never influence any other layer's statistics.</li>
 *   <li>Grouped quantization on a layer with no more input features than the group size uses one grid
 *       per row (the group would be the whole row anyway).</li>
 *   <li>SparseGPT and GPTQ use blocks of 128 columns (or the group size, when it is a larger multiple
 *       of 128) and dampening 0.01; the layers reading one input (q, k, v; gate, up) share one
 *       factorisation of its Hessian.</li>
 * </ul>
 */
public final class UniformCompression {
    private static final int BLOCK_SIZE = 128;
    private static final java.util.Set<Integer> VLLM_GROUPS = java.util.Set.of(32, 64, 128);
    private static final double DAMPENING = 0.01;

    private UniformCompression() {
    }

    /** The per-layer compressors a uniform run can use. */
    public enum Method {
        SPARSEGPT, GPTQ, WANDA, MAGNITUDE, RTN;

        /** Whether the method needs calibration statistics (Hessians or input norms). */
        public boolean needsCalibration() {
            return this == SPARSEGPT || this == GPTQ || this == WANDA;
        }

        /** Whether the method zeroes weights (takes a sparsity or an N:M pattern). */
        public boolean prunes() {
            return this == SPARSEGPT || this == WANDA || this == MAGNITUDE;
        }

        /** Whether the method quantizes (takes bits); SparseGPT may also quantize its kept weights. */
        public boolean quantizes() {
            return this == GPTQ || this == RTN;
        }

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Null when {@code name} is not a method. */
        public static Method parse(String name) {
            for (Method m : values()) {
                if (m.cliName().equals(name.toLowerCase(Locale.ROOT))) {
                    return m;
                }
            }
            return null;
        }
    }

    /**
     * One uniform setting.
     *
     * @param pattern      sparsity for the pruning methods, else null
     * @param quantization grid for GPTQ / RTN (and optionally SparseGPT's kept weights), else null
     * @param actOrder     GPTQ's act-order
     * @param vllmGrids    quantize per channel every layer whose input width the group does not divide, or
     *                     whose group is not 32, 64 or 128 (vLLM's kernels), or with act-order (whose groups
     *                     follow the processing order), so compressed-tensors export is exact
     */
    public record Settings(Method method, SparsityPattern pattern, QuantizationSpec quantization, boolean actOrder,
                           boolean vllmGrids) {
        public Settings(Method method, SparsityPattern pattern, QuantizationSpec quantization, boolean actOrder) {
            this(method, pattern, quantization, actOrder, false);
        }

        public Settings {
            if (method.prunes() && pattern == null) {
                throw new IllegalArgumentException(method.cliName() + " needs a sparsity pattern");
            }
            if (!method.prunes() && pattern != null) {
                throw new IllegalArgumentException(method.cliName() + " does not prune");
            }
            if (method.quantizes() && quantization == null) {
                throw new IllegalArgumentException(method.cliName() + " needs a quantization spec");
            }
            if (quantization != null && method != Method.SPARSEGPT && !method.quantizes()) {
                throw new IllegalArgumentException(method.cliName() + " does not quantize");
            }
            if (actOrder && method != Method.GPTQ) {
                throw new IllegalArgumentException("act-order applies to gptq only");
            }
            if (quantization != null && (method == Method.GPTQ || method == Method.SPARSEGPT)) {
                blockSize(quantization);
            }
        }
    }

    /** What one layer became; {@code quantized} its stored form when quantized, else null. */
    public record LayerResult(int block, LinearName layer, int rows, int columns, double sparsity, long storageBits,
                              double errorEstimate, double seconds, QuantizedWeight quantized) {
    }

    /**
     * @param layers        linear layers compressed
     * @param weights       weights in them
     * @param meanSparsity  zeros / weights over those layers
     * @param bitsPerWeight stored bits per weight (codes, 16-bit scales and zeros) for quantized
     *                      methods, NaN otherwise
     */
    public record Summary(int layers, long weights, double meanSparsity, double bitsPerWeight) {
    }

    /**
     * The SparseGPT / GPTQ block size for a quantization grid: 128, or the group size when it is a
     * multiple of 128; fails for group sizes that neither divide nor are a multiple of 128.
     */
    public static int blockSize(QuantizationSpec quantization) {
        int g = quantization.groupSize();
        if (g == 0 || BLOCK_SIZE % g == 0) {
            return BLOCK_SIZE;
        }
        if (g % BLOCK_SIZE == 0) {
            return g;
        }
        throw new IllegalArgumentException("group size " + g + " must divide 128 or be a multiple of 128 "
            + "(a group must not straddle a block of lazy updates)");
    }

    /** The grid for a layer of {@code columns} inputs: one per row when a group would span the row. */
    public static QuantizationSpec forLayer(QuantizationSpec spec, int columns) {
        return !spec.perChannelGrid() && columns <= spec.groupSize()
            ? new QuantizationSpec(spec.bits(), 0, spec.symmetric()) : spec;
    }

    /**
     * Compresses every linear layer of {@code model} in place.
     *
     * @param calibration calibration sequences (equal lengths per batch); ignored by methods without
     *                    calibration, for which it may be empty
     * @param progress    told after every layer
     */
    public static Summary run(CausalLm model, List<int[]> calibration, int batchSize, Settings settings,
                              Consumer<LayerResult> progress) {
        Accumulator acc = new Accumulator();
        if (settings.method().needsCalibration()) {
            DenseCalibration.forEachBlock(model, calibration, batchSize, model.numBlocks(),
                stats -> compressBlock(model, stats.block(), stats, settings, progress, acc));
        } else {
            for (int block = 0; block < model.numBlocks(); block++) {
                compressBlock(model, block, null, settings, progress, acc);
            }
        }
        return new Summary(acc.layers, acc.weights, (double) acc.zeros / acc.weights,
            settings.quantization() == null ? Double.NaN : (double) acc.storageBits / acc.weights);
    }

    private static final class Accumulator {
        int layers;
        long weights;
        long zeros;
        long storageBits;
    }

    private static void compressBlock(CausalLm model, int block, BlockHessians stats, Settings settings,
                                      Consumer<LayerResult> progress, Accumulator acc) {
        // the layers of one input group (q, k, v; gate, up) share one prepared Hessian: one factorisation
        Map<InputGroup, PreparedHessian> prepared = new EnumMap<>(InputGroup.class);
        for (LinearName name : model.architecture().linears(model.config())) {
            long start = System.nanoTime();
            NDArray weight = model.block(block).weight(name);
            PreparedHessian hessian = stats == null ? null
                : prepared.computeIfAbsent(InputGroup.of(name), g -> PreparedHessian.of(stats.hessian(name), DAMPENING));
            CompressedLayer out = compress(weight, stats, hessian, name, settings);
            try (NDManager scope = model.manager().newSubManager()) {
                // the replacement moves to the model's manager; the old weight comes back detached
                model.block(block).replaceLinear(name, out.toNDArray(scope)).close();
            }
            long numel = (long) out.rows() * out.columns();
            long zeros = Math.round(out.sparsity() * numel);
            long bits = out.quantized() == null ? 0 : out.quantized().storageBits();
            acc.layers++;
            acc.weights += numel;
            acc.zeros += zeros;
            acc.storageBits += bits;
            progress.accept(new LayerResult(block, name, out.rows(), out.columns(), out.sparsity(), bits,
                out.errorEstimate(), (System.nanoTime() - start) / 1e9, out.quantized()));
        }
    }

    private static CompressedLayer compress(NDArray weight, BlockHessians stats, PreparedHessian hessian, LinearName name,
                                            Settings s) {
        int columns = Math.toIntExact(weight.getShape().get(1));
        QuantizationSpec q = s.quantization() == null ? null : forLayer(s.quantization(), columns);
        if (q != null && s.vllmGrids() && !q.perChannelGrid()
            && (columns % q.groupSize() != 0 || !VLLM_GROUPS.contains(q.groupSize()) || s.actOrder())) {
            q = new QuantizationSpec(q.bits(), 0, q.symmetric());
        }
        return switch (s.method()) {
            case SPARSEGPT -> SparseGpt.compress(weight, hessian, new SparseGpt.Options(s.pattern(), q,
                q == null ? BLOCK_SIZE : blockSize(q), DAMPENING));
            case GPTQ -> Gptq.quantize(weight, hessian, new Gptq.Options(q, s.actOrder(), blockSize(q), DAMPENING));
            case WANDA -> Wanda.prune(weight, stats.forLayer(name).columnNorms(), s.pattern());
            case MAGNITUDE -> MagnitudePruning.prune(weight, s.pattern());
            case RTN -> RoundToNearest.quantize(weight, q);
        };
    }
}
