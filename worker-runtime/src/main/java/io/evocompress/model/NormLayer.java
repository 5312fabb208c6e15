package io.evocompress.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * A norm of the model, one shared part for every family: RMSNorm (weight only) or LayerNorm
 * (weight and bias), as Hugging Face computes them: statistics in float32, cast back to the compute
 * dtype. The arrays belong to the model's manager.
 */
final class NormLayer {
    final NDArray weight; // (H)
    final NDArray bias;   // (H) or null (RMSNorm)
    private final ForwardSpec.Norm kind;
    private final double eps;

    NormLayer(ForwardSpec.Norm kind, double eps, NDArray weight, NDArray bias) {
        this.kind = kind;
        this.eps = eps;
        this.weight = weight;
        this.bias = bias;
    }

    /** x: (..., H) -> (..., H), in x's manager. */
    NDArray apply(NDArray x) {
        return kind == ForwardSpec.Norm.RMS ? rmsNorm(x, weight, eps) : layerNorm(x, weight, bias, eps);
    }

    /** RMSNorm as Hugging Face: normalise in float32, cast back, then scale by the weight. */
    static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        DataType dtype = x.getDataType();
        NDArray xf = x.toType(DataType.FLOAT32, false);
        NDArray rms = xf.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return xf.div(rms).toType(dtype, false).mul(weight);
    }

    /** LayerNorm over the last axis (biased variance), then weight and bias. */
    static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        DataType dtype = x.getDataType();
        NDArray xf = x.toType(DataType.FLOAT32, false);
        NDArray centred = xf.sub(xf.mean(new int[] {-1}, true));
        NDArray std = centred.square().mean(new int[] {-1}, true).add(eps).sqrt();
        NDArray y = centred.div(std).mul(weight.toType(DataType.FLOAT32, false)).add(bias.toType(DataType.FLOAT32, false));
        return y.toType(dtype, false);
    }
}
