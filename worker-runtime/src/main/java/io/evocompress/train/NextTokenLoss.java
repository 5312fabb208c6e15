package io.evocompress.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Next-token cross-entropy: the mean over b and t &lt; T-1 of -log softmax(logits[b, t])[ids[b, t+1]]
 * (the language-modelling loss; its exponential is the batch perplexity). Log-softmax in float32.
 */
public final class NextTokenLoss implements TrainingObjective {

    @Override
    public NDArray loss(NDArray logits, NDArray ids) {
        long t = logits.getShape().get(1);
        NDArray logp = logits.get(":, :" + (t - 1) + ", :").toType(DataType.FLOAT32, false).logSoftmax(-1); // (B, T-1, V)
        NDArray targets = ids.get(":, 1:").toType(DataType.INT64, false).expandDims(-1);                   // (B, T-1, 1)
        return logp.gather(targets, 2).mean().neg();
    }

    @Override
    public String name() {
        return "lm";
    }
}
