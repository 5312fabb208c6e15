package io.evocompress.fitness;

import io.evocompress.EvocompressException;
import io.evocompress.model.LinearName;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a genome's integer levels into the {@link CandidateSpec} the evaluator applies (ALGORITHMS.md
 * section 3). Two domains:
 * <ul>
 *   <li>{@link #levels(List)}: sparsity or bit-width search; unit i is layer {@code layers[i]} at
 *   database level {@code levels[i]} (the sparsity offset, or the bit width, as the database numbers
 *   its levels);</li>
 *   <li>{@link #depth(int)}: block dropping over n blocks; the genome has 2n units, unit i (i &lt; n)
 *   non-zero drops block i's attention, unit n + i non-zero drops block i's MLP;</li>
 *   <li>{@link #depth(int, boolean)} with whole blocks: n units, unit i non-zero drops both halves of block i.</li>
 * </ul>
 * Small and serializable: it travels to executors inside the evaluation task. The search's domains hand
 * out their decoder ({@code SearchDomain.decoder()}), so what a unit means is defined in one place.
 */
public final class GenomeDecoder implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String[] layers; // null for depth
    private final int blocks;       // depth only
    private final boolean wholeBlocks; // depth only: one unit per block

    private GenomeDecoder(String[] layers, int blocks, boolean wholeBlocks) {
        this.layers = layers;
        this.blocks = blocks;
        this.wholeBlocks = wholeBlocks;
    }

    /** Unit i -> layer {@code layers.get(i)} at the genome's level. */
    public static GenomeDecoder levels(List<String> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("A level genome needs at least one layer");
        }
        if (layers.stream().distinct().count() != layers.size()) {
            throw new IllegalArgumentException("Layer names in a genome must be distinct, but were " + layers);
        }
        return new GenomeDecoder(layers.toArray(new String[0]), 0, false);
    }

    /** Every linear layer of a model of this config, block by block in its family's order. */
    public static List<String> allLinearLayers(io.evocompress.model.ModelConfig config) {
        io.evocompress.model.Architecture arch = io.evocompress.model.ArchitectureRegistry.forType(config.modelType(), "config");
        List<String> out = new ArrayList<>();
        for (int b = 0; b < config.numLayers(); b++) {
            for (LinearName n : arch.linears(config)) {
                out.add(arch.unitName(b, n));
            }
        }
        return out;
    }

    /** Every linear layer of a Llama-layout model of {@code numBlocks} blocks, block by block in {@link LinearName} order. */
    public static List<String> allLinearLayers(int numBlocks) {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < numBlocks; b++) {
            for (LinearName n : LinearName.values()) {
                out.add(CandidateSpec.layerName(b, n));
            }
        }
        return out;
    }

    /** 2 * numBlocks units: attention dropped flags, then MLP dropped flags. */
    public static GenomeDecoder depth(int numBlocks) {
        return depth(numBlocks, false);
    }

    /** Whole blocks: numBlocks units, each dropping both halves of its block; else as {@link #depth(int)}. */
    public static GenomeDecoder depth(int numBlocks, boolean wholeBlocks) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("A depth genome needs at least one block, but was " + numBlocks);
        }
        return new GenomeDecoder(null, numBlocks, wholeBlocks);
    }

    public boolean isDepth() {
        return layers == null;
    }

    /** Units a genome of this domain has. */
    public int units() {
        return isDepth() ? (wholeBlocks ? blocks : 2 * blocks) : layers.length;
    }

    /**
     * The genome's units in block order, half block by half block (what a prefix of the model is): the
     * layers as given (block by block, attention before MLP, as the database and {@link #allLinearLayers}
     * list them), or for depth block i's attention flag, then its MLP flag.
     */
    public int[] blockOrder() {
        int[] order = new int[units()];
        for (int u = 0; u < order.length; u++) {
            order[u] = isDepth() && !wholeBlocks ? (u % 2 == 0 ? u / 2 : blocks + u / 2) : u;
        }
        return order;
    }

    /** The layer names, in unit order (empty for depth). */
    public List<String> layers() {
        return layers == null ? List.of() : List.of(layers);
    }

    public CandidateSpec decode(int[] levels) {
        if (levels.length != units()) {
            throw new EvocompressException("A genome of " + levels.length + " units does not fit this "
                + (isDepth() ? "depth domain of " + blocks + " blocks (" + units() + " units)" : "layer domain of "
                + layers.length + " layers") + "; the search and the evaluator must use the same domain.");
        }
        if (isDepth()) {
            boolean[] attention = new boolean[blocks];
            boolean[] mlp = new boolean[blocks];
            for (int i = 0; i < blocks; i++) {
                attention[i] = levels[i] != 0;
                mlp[i] = levels[wholeBlocks ? i : blocks + i] != 0;
            }
            return CandidateSpec.ofDepth(attention, mlp);
        }
        Map<String, Integer> spec = new TreeMap<>();
        for (int i = 0; i < layers.length; i++) {
            spec.put(layers[i], levels[i]);
        }
        return CandidateSpec.ofLevels(spec);
    }

    /**
     * The genome a candidate of this domain decodes from: the inverse of {@link #decode}. Fails when the
     * candidate is not one of this domain's (another layer set, block count, or halves dropped apart
     * in a whole-block domain).
     */
    public int[] encode(CandidateSpec spec) {
        int[] levels = new int[units()];
        if (isDepth()) {
            if (spec.skipAttention() == null || spec.skipAttention().length != blocks || !spec.levels().isEmpty()) {
                throw new EvocompressException(spec + " is not a candidate of a depth domain of " + blocks + " blocks");
            }
            for (int i = 0; i < blocks; i++) {
                if (wholeBlocks && spec.skipsAttention(i) != spec.skipsMlp(i)) {
                    throw new EvocompressException(spec + " drops one half of block " + i + "; this domain drops whole blocks");
                }
                levels[i] = spec.skipsAttention(i) ? 1 : 0;
                if (!wholeBlocks) {
                    levels[blocks + i] = spec.skipsMlp(i) ? 1 : 0;
                }
            }
            return levels;
        }
        if (spec.skipAttention() != null || !spec.levels().keySet().equals(new java.util.TreeSet<>(List.of(layers)))) {
            throw new EvocompressException(spec + " does not name exactly this domain's " + layers.length + " layers");
        }
        for (int i = 0; i < layers.length; i++) {
            levels[i] = spec.level(layers[i]);
        }
        return levels;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenomeDecoder d && blocks == d.blocks && wholeBlocks == d.wholeBlocks
            && Arrays.equals(layers, d.layers);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(layers) + blocks) + (wholeBlocks ? 1 : 0);
    }
}
