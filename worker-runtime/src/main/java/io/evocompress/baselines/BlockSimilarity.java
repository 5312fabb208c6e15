package io.evocompress.baselines;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;
import io.evocompress.model.StreamedLm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * ShortGPT's block importance: the mean cosine similarity, over calibration tokens, between a
 * block's input and output hidden states on the dense model. A block whose output is most similar to
 * its input changes least, so it is dropped first.
 */
public final class BlockSimilarity {
    private BlockSimilarity() {
    }

    /** Mean cosine similarity of each block's output to its input, over every token of {@code sequences}. */
    public static double[] cosine(CausalLm model, List<int[]> sequences) {
        int n = model.numBlocks();
        double[] sum = new double[n];
        long tokens = 0;
        for (int[] seq : sequences) {
            try (NDManager scope = model.manager().newSubManager()) {
                NDArray ids = scope.create(seq, new Shape(1, seq.length));
                NDArray h = model.embed(ids);
                for (int i = 0; i < n; i++) {
                    NDArray next = model.runBlocks(h, i, i + 1);
                    NDArray a = h.toType(DataType.FLOAT32, false);
                    NDArray b = next.toType(DataType.FLOAT32, false);
                    NDArray cos = a.mul(b).sum(new int[] {-1})
                        .div(a.norm(new int[] {-1}).mul(b.norm(new int[] {-1})).maximum(1e-12f));
                    sum[i] += cos.sum().getFloat();
                    h = next;
                }
                tokens += seq.length;
            }
        }
        for (int i = 0; i < n; i++) {
            sum[i] /= tokens;
        }
        return sum;
    }

    /**
     * As {@link #cosine(CausalLm, List)} with the weights streamed one block at a time ({@link StreamedLm}):
     * every sequence's hidden states are held between blocks, and each block's sum adds the sequences in the
     * same order, so the similarities are the resident ones bit for bit.
     */
    public static double[] cosine(StreamedLm model, List<int[]> sequences) {
        int n = model.numBlocks();
        double[] sum = new double[n];
        long tokens = 0;
        try (NDManager manager = NDManager.newBaseManager(model.device())) {
            NDArray[] ids = new NDArray[sequences.size()];
            for (int s = 0; s < ids.length; s++) {
                ids[s] = manager.newSubManager().create(sequences.get(s), new Shape(1, sequences.get(s).length));
                tokens += sequences.get(s).length;
            }
            NDArray[] h = new NDArray[ids.length];
            try (CausalLm stage = model.embedding()) {
                for (int s = 0; s < ids.length; s++) {
                    h[s] = stage.embed(ids[s]);
                }
            }
            for (int i = 0; i < n; i++) {
                try (CausalLm stage = model.block(i)) {
                    for (int s = 0; s < h.length; s++) {
                        NDArray next = stage.runBlocks(h[s], 0, 1);
                        try (NDManager scope = next.getManager().newSubManager()) {
                            h[s].tempAttach(scope);
                            next.tempAttach(scope);
                            NDArray a = h[s].toType(DataType.FLOAT32, false);
                            NDArray b = next.toType(DataType.FLOAT32, false);
                            NDArray cos = a.mul(b).sum(new int[] {-1})
                                .div(a.norm(new int[] {-1}).mul(b.norm(new int[] {-1})).maximum(1e-12f));
                            sum[i] += cos.sum().getFloat();
                        }
                        h[s].close();
                        h[s] = next;
                    }
                }
            }
        }
        for (int i = 0; i < n; i++) {
            sum[i] /= tokens;
        }
        return sum;
    }

    /** The {@code k} blocks to drop: highest input/output similarity first, ties to the lower index. */
    public static List<Integer> blocksToDrop(double[] similarity, int k) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < similarity.length; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble((Integer i) -> -similarity[i]).thenComparingInt(i -> i));
        return order.subList(0, k).stream().sorted().toList();
    }
}
