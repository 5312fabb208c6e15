package io.evocompress.database;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.compress.QuantizationSpec;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How every variant of a database is made, and so part of its identity (its JSON form is hashed
 * into the database id). Two domains:
 * <ul>
 *   <li>{@code sparsity}: SparseGPT, unstructured; levels are EvoPress's offsets l in [-L, L] around
 *       the target s, the sparsity at level l being s + l * Delta / numel ({@link SparsityGrid}), so
 *       level 0 is exactly the uniform target.</li>
 *   <li>{@code bits}: GPTQ; the levels ARE the bit widths. Min-max grids per output row and group of
 *       {@code groupSize} input columns (clamped to the layer's columns; 0: per channel), asymmetric
 *       unless {@code symmetric}. Act-order needs per-channel grids, because the variant file stores
 *       groups as consecutive columns.</li>
 * </ul>
 *
 * @param sparseValueBytes 2: sparse values stored as fp16 (the dense reference layout's precision),
 *                         4: as fp32
 */
public record CompressorSettings(String domain, SparsityGrid grid, List<Integer> bits, int groupSize, boolean symmetric,
                                 boolean actOrder, double dampening, int blockSize, int sparseValueBytes)
    implements Serializable {

    public static final String SPARSITY = "sparsity";
    public static final String BITS = "bits";

    public CompressorSettings {
        if (SPARSITY.equals(domain)) {
            if (grid == null) {
                throw new EvocompressException("The sparsity domain needs a sparsity grid (target, max level, delta).");
            }
            bits = List.of();
        } else if (BITS.equals(domain)) {
            if (bits == null || bits.isEmpty()) {
                throw new EvocompressException("The bits domain needs at least one bit width.");
            }
            for (int b : bits) {
                if (b < 2 || b > 8) {
                    throw new EvocompressException("Bit widths must be in [2, 8], but " + b + " was given.");
                }
            }
            bits = List.copyOf(bits.stream().distinct().sorted().toList());
            grid = null;
            if (groupSize < 0) {
                throw new EvocompressException("The group size must be 0 (per channel) or positive, but was " + groupSize);
            }
            if (groupSize > 0 && blockSize % groupSize != 0) {
                throw new EvocompressException("The group size (" + groupSize + ") must divide the block size (" + blockSize + ").");
            }
            if (actOrder && groupSize > 0) {
                throw new EvocompressException("act-order with grouped quantization is not supported by the variant format: "
                    + "use group size 0 (per channel) with act-order, or turn act-order off.");
            }
        } else {
            throw new EvocompressException("The database domain must be 'sparsity' or 'bits', but was '" + domain + "'.");
        }
        if (blockSize < 1) {
            throw new EvocompressException("The block size must be positive, but was " + blockSize);
        }
        if (!(dampening >= 0) || Double.isInfinite(dampening)) {
            throw new EvocompressException("The dampening must be >= 0, but was " + dampening);
        }
        if (sparseValueBytes != 2 && sparseValueBytes != 4) {
            throw new EvocompressException("Sparse values are stored in 2 (fp16) or 4 (fp32) bytes, not " + sparseValueBytes);
        }
    }

    public static CompressorSettings sparsity(SparsityGrid grid, double dampening, int blockSize, int sparseValueBytes) {
        return new CompressorSettings(SPARSITY, grid, List.of(), 0, false, false, dampening, blockSize, sparseValueBytes);
    }

    public static CompressorSettings bits(List<Integer> bits, int groupSize, boolean symmetric, boolean actOrder,
                                          double dampening, int blockSize) {
        return new CompressorSettings(BITS, null, bits, groupSize, symmetric, actOrder, dampening, blockSize, 2);
    }

    public boolean isSparsity() {
        return SPARSITY.equals(domain);
    }

    /** The levels a layer of rows x cols has, ascending. */
    public List<Integer> levels(int rows, int cols) {
        return isSparsity() ? grid.levels((long) rows * cols) : new ArrayList<>(bits);
    }

    /** Sparsity of a layer of {@code numel} weights at {@code level}: s + level * Delta / numel. */
    public double sparsity(long numel, int level) {
        return grid.target() + (double) level * grid.delta() / numel;
    }

    /** The quantization grid at {@code bits} for a layer of {@code cols} input columns (group size clamped). */
    public QuantizationSpec quantization(int bits, int cols) {
        return new QuantizationSpec(bits, effectiveGroupSize(cols) >= cols ? 0 : effectiveGroupSize(cols), symmetric);
    }

    /** Columns per stored group: the group size clamped to cols, cols for per channel. */
    public int effectiveGroupSize(int cols) {
        return groupSize == 0 ? cols : Math.min(groupSize, cols);
    }

    /** The canonical JSON form (fixed field order), hashed into the database id. */
    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("domain", domain);
        if (isSparsity()) {
            n.put("compressor", "sparsegpt-unstructured");
            n.put("target", grid.target());
            n.put("max_level", grid.maxLevel());
            n.put("delta", grid.delta());
            n.put("sparse_value_bytes", sparseValueBytes);
        } else {
            n.put("compressor", "gptq");
            ArrayNode b = n.putArray("bits");
            bits.forEach(b::add);
            n.put("group_size", groupSize);
            n.put("symmetric", symmetric);
            n.put("act_order", actOrder);
        }
        n.put("dampening", dampening);
        n.put("block_size", blockSize);
        return n;
    }

    public String hash() {
        return VariantStore.sha256(toJson().toString().getBytes(StandardCharsets.UTF_8));
    }
}
