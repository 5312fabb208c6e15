package io.evocompress.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The gradients PyTorch's autograd leaves on the parameters after a backward pass: reading them,
 * their global L2 norm, clipping, and zeroing before the next step (autograd accumulates). Zeroing
 * goes through the PyTorch engine directly because DJL's {@code GradientCollector.zeroGradients()}
 * only visits arrays of the engine's system manager, not a model's.
 */
final class Gradients {
    private Gradients() {
    }

    /** Makes every parameter a leaf that records gradients (idempotent). */
    static void requireGradients(Map<String, NDArray> parameters) {
        for (NDArray p : parameters.values()) {
            if (!p.hasGradient()) {
                p.setRequiresGradient(true);
            }
        }
    }

    /** name -&gt; gradient view (shares the parameter's .grad storage), attached to {@code scope}. */
    static Map<String, NDArray> read(Map<String, NDArray> parameters, NDManager scope) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray g = e.getValue().getGradient();
            g.attach(scope);
            out.put(e.getKey(), g);
        }
        return out;
    }

    /** sqrt(sum over every gradient of its squared entries), accumulated in float64. */
    static double globalNorm(Map<String, NDArray> gradients) {
        double sum = 0;
        for (NDArray g : gradients.values()) {
            try (NDManager scope = g.getManager().newSubManager()) {
                g.tempAttach(scope);
                sum += g.toType(DataType.FLOAT64, false).square().sum().getDouble();
            }
        }
        return Math.sqrt(sum);
    }

    /** Multiplies every gradient by {@code factor} in place. */
    static void scale(Map<String, NDArray> gradients, double factor) {
        for (NDArray g : gradients.values()) {
            g.muli((float) factor);
        }
    }

    /** Sets every parameter's accumulated gradient to zero (no-op before the first backward). */
    static void zero(Map<String, NDArray> parameters) {
        for (NDArray p : parameters.values()) {
            if (p.hasGradient() && p instanceof PtNDArray pt) {
                PtNDArray g = JniUtils.getGradient(pt); // null until a backward pass reached p
                if (g != null) {
                    JniUtils.zeroGrad(pt);
                    g.close();
                }
            }
        }
    }
}
