package io.evocompress.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Next-token metrics on logits (B, T, V), in float32: the summed negative log-likelihood of each
 * sequence's next tokens, and the KL divergence between two models' next-token distributions. The
 * last position of each sequence predicts nothing and is dropped from both.
 */
public final class TokenMetrics {
    private TokenMetrics() {
    }

    /** Sum over b and t < T-1 of -log softmax(logits[b, t])[ids[b, t+1]]. */
    public static double nllSum(NDArray logits, NDArray ids) {
        try (NDManager scope = logits.getManager().newSubManager()) {
            logits.tempAttach(scope);
            ids.tempAttach(scope);
            long t = logits.getShape().get(1);
            NDArray logp = logits.get(":, :" + (t - 1) + ", :").toType(DataType.FLOAT32, false).logSoftmax(-1);
            NDArray targets = ids.get(":, 1:").toType(DataType.INT64, false).expandDims(-1); // (B, T-1, 1)
            NDArray picked = logp.gather(targets, 2);                                        // (B, T-1, 1)
            return -picked.toType(DataType.FLOAT64, false).sum().getDouble();
        }
    }

    /**
     * Sum over b and t < T-1 of KL(P || Q) = sum_v p_v (log p_v - log q_v), with log-softmax in float32
     * and the per-position sums accumulated in float64.
     */
    public static double klSum(NDArray logitsP, NDArray logitsQ) {
        try (NDManager scope = logitsP.getManager().newSubManager()) {
            logitsP.tempAttach(scope);
            logitsQ.tempAttach(scope);
            long t = logitsP.getShape().get(1);
            String keep = ":, :" + (t - 1) + ", :";
            NDArray logp = logitsP.get(keep).toType(DataType.FLOAT32, false).logSoftmax(-1);
            NDArray logq = logitsQ.get(keep).toType(DataType.FLOAT32, false).logSoftmax(-1);
            NDArray perPosition = logp.exp().mul(logp.sub(logq)).sum(new int[] {-1}); // (B, T-1)
            return perPosition.toType(DataType.FLOAT64, false).sum().getDouble();
        }
    }
}
