package io.evocompress.baselines;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.model.CausalLm;

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
