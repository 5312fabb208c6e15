package io.evocompress.calibration;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.StreamedLm;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Calibration statistics under the dense-input assumption (ALGORITHMS.md section 1): the dense model
 * runs block by block over the calibration sequences (embed, then every block fed the dense outputs
 * of the previous one), and while a block runs its linear-layer inputs are accumulated into one
 * {@link HessianAccumulator} per {@link InputGroup}. A block's statistics therefore never depend on
 * how any other block is compressed.
 *
 * <p>Memory: the hidden states of all sequences (N, T, hidden) are held between blocks, and the four
 * accumulators of one block at a time.
 */
public final class DenseCalibration {
    private DenseCalibration() {
    }

    /**
     * Visits the statistics of blocks [0, {@code toBlock}) in order.
     *
     * @param sequences token ids; the sequences of one batch must have equal lengths
     * @param batchSize sequences per forward
     */
    public static void forEachBlock(CausalLm model, List<int[]> sequences, int batchSize, int toBlock,
                                    Consumer<BlockHessians> visitor) {
        forEachBlockPartial(model, sequences, batchSize, toBlock, (block, parts) -> {
            Map<InputGroup, InputStatistics> stats = new EnumMap<>(InputGroup.class);
            parts.forEach((group, part) -> stats.put(group, part.statistics()));
            visitor.accept(new BlockHessians(block, stats));
        });
    }

    /** Receives one block's statistics as combinable partial sums. */
    @FunctionalInterface
    public interface PartialVisitor {
        void accept(int block, Map<InputGroup, PartialStatistics> parts);
    }

    /**
     * Receives one block's accumulators, open only during the call: to read or write their statistics
     * (for example {@link HessianAccumulator#writePartial}, straight from the device to a file) without
     * the four Hessians of the block on the Java heap at once.
     */
    @FunctionalInterface
    public interface AccumulatorVisitor {
        void accept(int block, Map<InputGroup, HessianAccumulator> accumulators);
    }

    private static AccumulatorVisitor partials(PartialVisitor visitor) {
        return (block, accumulators) -> {
            Map<InputGroup, PartialStatistics> parts = new EnumMap<>(InputGroup.class);
            accumulators.forEach((group, acc) -> parts.put(group, acc.partial()));
            visitor.accept(block, parts);
        };
    }

    /** As {@link #forEachBlockPartial(CausalLm, List, int, int, PartialVisitor)}, handing over the accumulators. */
    public static void forEachBlockAccumulators(CausalLm model, List<int[]> sequences, int batchSize, int toBlock,
                                                AccumulatorVisitor visitor) {
        check(sequences, batchSize, toBlock, model.numBlocks());
        try (NDManager manager = model.manager().newSubManager()) {
            run(model.config(), manager, sequences, batchSize, toBlock, visitor,
                () -> new Stage(model, -1, false), block -> new Stage(model, block, false));
        }
    }

    /** As {@link #forEachBlockPartial(StreamedLm, List, int, int, PartialVisitor)}, handing over the accumulators. */
    public static void forEachBlockAccumulators(StreamedLm model, List<int[]> sequences, int batchSize, int toBlock,
                                                AccumulatorVisitor visitor) {
        check(sequences, batchSize, toBlock, model.numBlocks());
        try (NDManager manager = NDManager.newBaseManager(model.device())) {
            run(model.config(), manager, sequences, batchSize, toBlock, visitor,
                () -> new Stage(model.embedding(), -1, true), block -> new Stage(model.block(block), 0, true));
        }
    }

    /**
     * As {@link #forEachBlock}, but hands over each block's statistics as {@link PartialStatistics},
     * which statistics of other shards of the calibration sequences can be combined with.
     */
    public static void forEachBlockPartial(CausalLm model, List<int[]> sequences, int batchSize, int toBlock,
                                           PartialVisitor visitor) {
        forEachBlockAccumulators(model, sequences, batchSize, toBlock, partials(visitor));
    }

    /**
     * As {@link #forEachBlockPartial(CausalLm, List, int, int, PartialVisitor)} with the weights streamed: the
     * embeddings, then one block at a time, on the device ({@link StreamedLm}); the same statistics bit for bit.
     * Device memory: one block's weights, the hidden states of all sequences and one block's accumulators.
     */
    public static void forEachBlockPartial(StreamedLm model, List<int[]> sequences, int batchSize, int toBlock,
                                           PartialVisitor visitor) {
        forEachBlockAccumulators(model, sequences, batchSize, toBlock, partials(visitor));
    }

    /** The model a step runs on and the index of the block it runs there; closes the model when it owns it. */
    private record Stage(CausalLm model, int block, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                model.close();
            }
        }
    }

    private static void check(List<int[]> sequences, int batchSize, int toBlock, int numBlocks) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("Calibration needs at least one sequence, but got none");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("Calibration batch size must be at least 1, but was " + batchSize);
        }
        if (toBlock < 0 || toBlock > numBlocks) {
            throw new IllegalArgumentException("toBlock must be in [0, " + numBlocks + "], but was " + toBlock);
        }
    }

    private static void run(ModelConfig config, NDManager manager, List<int[]> sequences, int batchSize, int toBlock,
                            AccumulatorVisitor visitor, java.util.function.Supplier<Stage> embedding,
                            java.util.function.IntFunction<Stage> blocks) {
        // embed: one (b, T, H) array of hidden states per batch
        List<NDArray> hidden = new ArrayList<>();
        try (Stage stage = embedding.get()) {
            for (int start = 0; start < sequences.size(); start += batchSize) {
                List<int[]> batch = sequences.subList(start, Math.min(sequences.size(), start + batchSize));
                try (NDManager scope = manager.newSubManager()) {
                    NDArray h = stage.model().embed(ids(scope, batch, start));
                    h.attach(manager);
                    hidden.add(h);
                }
            }
        }
        // blocks in order, each fed the dense outputs of the previous one
        for (int block = 0; block < toBlock; block++) {
            Map<InputGroup, HessianAccumulator> accumulators = accumulators(manager, config);
            try (Stage stage = blocks.apply(block)) {
                for (int b = 0; b < hidden.size(); b++) {
                    NDArray in = hidden.get(b);
                    NDArray out = stage.model().runBlock(in, stage.block(),
                        (name, input) -> accumulators.get(InputGroup.of(name)).add(input));
                    in.close();
                    hidden.set(b, out);
                }
                visitor.accept(block, accumulators);
            } finally {
                accumulators.values().forEach(HessianAccumulator::close);
            }
        }
    }

    /** The statistics of blocks [0, {@code toBlock}), in order (all in memory at once). */
    public static List<BlockHessians> collect(CausalLm model, List<int[]> sequences, int batchSize, int toBlock) {
        List<BlockHessians> out = new ArrayList<>();
        forEachBlock(model, sequences, batchSize, toBlock, out::add);
        return out;
    }

    private static Map<InputGroup, HessianAccumulator> accumulators(NDManager manager, ModelConfig c) {
        Map<InputGroup, HessianAccumulator> acc = new EnumMap<>(InputGroup.class);
        acc.put(InputGroup.QKV, new HessianAccumulator(manager, c.hiddenSize()));
        acc.put(InputGroup.O, new HessianAccumulator(manager, c.qDim()));
        acc.put(InputGroup.GATE_UP, new HessianAccumulator(manager, c.hiddenSize()));
        acc.put(InputGroup.DOWN, new HessianAccumulator(manager, c.intermediateSize()));
        return acc;
    }

    /** Token ids of one batch as (b, T) int32; every sequence of the batch must have the same length. */
    private static NDArray ids(NDManager manager, List<int[]> batch, int firstIndex) {
        int t = batch.get(0).length;
        int[] flat = new int[batch.size() * t];
        for (int i = 0; i < batch.size(); i++) {
            int[] seq = batch.get(i);
            if (seq.length != t) {
                throw new IllegalArgumentException("Calibration sequences of one batch must have equal lengths: sequence "
                    + (firstIndex + i) + " has " + seq.length + " tokens, sequence " + firstIndex + " has " + t
                    + ". Use fixed-length sequences (TokenSequences.sample) or batch size 1.");
            }
            System.arraycopy(seq, 0, flat, i * t, t);
        }
        return manager.create(flat, new Shape(batch.size(), t));
    }
}
