package io.evocompress.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;

/**
 * A linear layer y = x W^T + b, weight in the Hugging Face layout [out, in]. The arrays belong to
 * the model's manager; {@link DecoderBlock#replaceLinear} swaps them.
 */
final class LinearLayer {
    NDArray weight; // (out, in)
    NDArray bias;   // (out) or null

    LinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    /** x: (..., in) -> (..., out); the result belongs to x's manager. */
    NDArray apply(NDArray x) {
        return Linear.linear(x, weight, bias).singletonOrThrow();
    }
}
