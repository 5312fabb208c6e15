package io.evocompress.model;

import io.evocompress.EvocompressException;

import java.util.Arrays;

/**
 * The size of one decoder block after structured pruning (DarwinLM): which query heads it keeps and
 * how many MLP neurons. Heads are named by their index in the dense model, so that each kept query
 * head still reads the key/value head it read before ({@code keptHeads[i] / groupSize}) and keeps its
 * ALiBi slope: with grouped-query attention the key/value projections are kept whole, only query rows
 * and o_proj input columns go. A family that stores q, k and v per head
 * ({@link Architecture#prunesKeyValueWithHeads}, BLOOM) keeps only the key/value heads its kept query
 * heads read ({@link #keptKvHeads}), in dense order. A block keeps at least one head and one neuron
 * (removing a whole half is depth pruning, EvoPress's depth domain).
 *
 * @param keptHeads    kept query heads, ascending dense indices
 * @param intermediate kept MLP neurons (rows of gate/up, columns of down)
 */
public record BlockShape(int[] keptHeads, int intermediate) {
    public BlockShape {
        keptHeads = keptHeads.clone();
        if (keptHeads.length == 0) {
            throw new EvocompressException("A block must keep at least one attention head");
        }
        for (int i = 1; i < keptHeads.length; i++) {
            if (keptHeads[i] <= keptHeads[i - 1]) {
                throw new EvocompressException("Kept heads must be strictly ascending, but were " + Arrays.toString(keptHeads));
            }
        }
        if (intermediate < 1) {
            throw new EvocompressException("A block must keep at least one MLP neuron, but kept " + intermediate);
        }
    }

    /** The dense block of a config: every head, the full intermediate size. */
    public static BlockShape dense(ModelConfig c) {
        return new BlockShape(java.util.stream.IntStream.range(0, c.numHeads()).toArray(), c.intermediateSize());
    }

    @Override
    public int[] keptHeads() {
        return keptHeads.clone();
    }

    public int numHeads() {
        return keptHeads.length;
    }

    /** Whether this block has the dense config's heads and neurons. */
    public boolean isDense(ModelConfig c) {
        return keptHeads.length == c.numHeads() && intermediate == c.intermediateSize();
    }

    /** Whether every dense head is kept (then the forward is the standard grouped one). */
    public boolean allHeads(ModelConfig c) {
        return keptHeads.length == c.numHeads();
    }

    public void check(ModelConfig c, int layer) {
        if (keptHeads[keptHeads.length - 1] >= c.numHeads() || keptHeads[0] < 0) {
            throw new EvocompressException("config.json: layer " + layer + " keeps heads " + Arrays.toString(keptHeads)
                + " but the model has " + c.numHeads() + " (num_attention_heads)");
        }
        if (intermediate > c.intermediateSize()) {
            throw new EvocompressException("config.json: layer " + layer + " has " + intermediate
                + " MLP neurons, more than intermediate_size " + c.intermediateSize());
        }
    }

    /**
     * The dense indices of the key/value heads this block stores, ascending: every one, or, where the
     * family prunes them with their query heads, those a kept query head reads.
     */
    public int[] keptKvHeads(ModelConfig c) {
        if (!ArchitectureRegistry.forType(c.modelType(), "config").prunesKeyValueWithHeads()) {
            return java.util.stream.IntStream.range(0, c.numKvHeads()).toArray();
        }
        return Arrays.stream(keptHeads).map(h -> h / c.groupSize()).distinct().toArray();
    }

    /** [out, in] of a linear layer of this block. */
    public long[] shape(LinearName name, ModelConfig c) {
        long q = (long) keptHeads.length * c.headDim();
        return switch (name) {
            case Q_PROJ -> new long[] {q, c.hiddenSize()};
            case K_PROJ, V_PROJ -> new long[] {(long) keptKvHeads(c).length * c.headDim(), c.hiddenSize()};
            case O_PROJ -> new long[] {c.hiddenSize(), q};
            case GATE_PROJ, UP_PROJ -> new long[] {intermediate, c.hiddenSize()};
            case DOWN_PROJ -> new long[] {c.hiddenSize(), intermediate};
        };
    }

    /** Parameters of this block's linear layers, the family's ({@link Architecture#linears}), weights and biases. */
    public long linearParams(ModelConfig c) {
        long total = 0;
        for (LinearName n : ArchitectureRegistry.forType(c.modelType(), "config").linears(c)) {
            long[] s = shape(n, c);
            total += s[0] * s[1] + (n.hasBias(c) ? s[0] : 0);
        }
        return total;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockShape b && Arrays.equals(keptHeads, b.keptHeads) && intermediate == b.intermediate;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(keptHeads) + intermediate;
    }

    @Override
    public String toString() {
        return "BlockShape[heads " + Arrays.toString(keptHeads) + ", intermediate " + intermediate + "]";
    }
}
