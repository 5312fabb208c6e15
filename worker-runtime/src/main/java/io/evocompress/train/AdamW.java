package io.evocompress.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.evocompress.EvocompressException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter) on DJL arrays, as PyTorch's {@code torch.optim.AdamW}: for each
 * parameter p with gradient g, at step t (from 1),
 * <pre>
 *   p &lt;- p (1 - lr wd)                                  decoupled weight decay
 *   m &lt;- b1 m + (1 - b1) g;   v &lt;- b2 v + (1 - b2) g^2      first and second moments
 *   p &lt;- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)   bias-corrected update
 * </pre>
 * Choices: weight decay applies only to matrices (embeddings, linear weights: arrays of rank 2 or
 * more), never to norm weights or biases, as the usual LLM recipes; the moments are float32 arrays
 * on the parameters' device, keyed by tensor name, so they can be saved and restored exactly. The
 * update runs in place outside any gradient recording. Owns its moments' memory: close it.
 */
public final class AdamW implements AutoCloseable {

    /**
     * @param beta1       decay of the first moment, in [0, 1)
     * @param beta2       decay of the second moment, in [0, 1)
     * @param eps         added to the denominator, &gt; 0
     * @param weightDecay decoupled decay per unit learning rate, &gt;= 0
     */
    public record Settings(double beta1, double beta2, double eps, double weightDecay) {
        public Settings {
            if (!(beta1 >= 0 && beta1 < 1)) {
                throw new EvocompressException("AdamW beta1 must be in [0, 1), but was " + beta1);
            }
            if (!(beta2 >= 0 && beta2 < 1)) {
                throw new EvocompressException("AdamW beta2 must be in [0, 1), but was " + beta2);
            }
            if (!(eps > 0)) {
                throw new EvocompressException("AdamW eps must be positive, but was " + eps);
            }
            if (!(weightDecay >= 0)) {
                throw new EvocompressException("AdamW weight decay must be >= 0, but was " + weightDecay);
            }
        }

        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
        public static Settings defaults() {
            return new Settings(0.9, 0.999, 1e-8, 0.01);
        }
    }

    private final Settings settings;
    private final NDManager manager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();    // m per parameter
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();  // v per parameter
    private long step;

    /** @param device where the parameters live (the moments are kept there) */
    public AdamW(Settings settings, Device device) {
        this.settings = settings;
        this.manager = NDManager.newBaseManager(device);
    }

    public Settings settings() {
        return settings;
    }

    /** Updates done so far (t of the last update). */
    public long step() {
        return step;
    }

    /**
     * One update of every parameter that has a gradient in {@code gradients} (same names), in place.
     *
     * @param parameters   name -&gt; live float32 parameter array
     * @param gradients    name -&gt; its gradient (same shape)
     * @param learningRate lr for this step
     */
    public void update(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double learningRate) {
        step++;
        double bc1 = 1 - Math.pow(settings.beta1, step);
        double bc2 = 1 - Math.pow(settings.beta2, step);
        float stepSize = (float) (learningRate / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray g = gradients.get(e.getKey());
            if (g == null) {
                continue;
            }
            NDArray p = e.getValue();
            if (p.getDataType() != DataType.FLOAT32) {
                throw new EvocompressException("AdamW updates float32 weights, but " + e.getKey() + " is "
                    + p.getDataType() + ": load the model to train in float32.");
            }
            NDArray m = expAvg.computeIfAbsent(e.getKey(), k -> zerosLike(p));
            NDArray v = expAvgSq.computeIfAbsent(e.getKey(), k -> zerosLike(p));
            try (NDManager scope = manager.newSubManager()) {
                p.tempAttach(scope);
                g.tempAttach(scope);
                m.tempAttach(scope);
                v.tempAttach(scope);
                if (settings.weightDecay > 0 && p.getShape().dimension() >= 2) {
                    p.muli((float) (1 - learningRate * settings.weightDecay));
                }
                m.muli((float) settings.beta1).addi(g.mul((float) (1 - settings.beta1)));
                v.muli((float) settings.beta2).addi(g.square().muli((float) (1 - settings.beta2)));
                NDArray denom = v.sqrt().divi(sqrtBc2).addi((float) settings.eps);
                p.subi(m.div(denom).muli(stepSize));
            }
        }
    }

    private NDArray zerosLike(NDArray p) {
        return manager.zeros(p.getShape(), DataType.FLOAT32);
    }

    /** The first moments by parameter name (live arrays: do not close). */
    public Map<String, NDArray> firstMoments() {
        return Collections.unmodifiableMap(expAvg);
    }

    /** The second moments by parameter name (live arrays: do not close). */
    public Map<String, NDArray> secondMoments() {
        return Collections.unmodifiableMap(expAvgSq);
    }

    /** Replaces the state with saved moments (float32 values in row-major order) and step count. */
    public void restore(long savedStep, Map<String, float[]> first, Map<String, float[]> second,
                        Map<String, NDArray> parameters) {
        expAvg.values().forEach(NDArray::close);
        expAvgSq.values().forEach(NDArray::close);
        expAvg.clear();
        expAvgSq.clear();
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            float[] m = first.get(e.getKey());
            float[] v = second.get(e.getKey());
            if (m == null || v == null) {
                continue;
            }
            long n = e.getValue().size();
            if (m.length != n || v.length != n) {
                throw new EvocompressException("Saved optimizer state for " + e.getKey() + " has " + m.length
                    + " values but the parameter has " + n + ": the state belongs to another model.");
            }
            expAvg.put(e.getKey(), manager.create(m, e.getValue().getShape()));
            expAvgSq.put(e.getKey(), manager.create(v, e.getValue().getShape()));
        }
        this.step = savedStep;
    }

    @Override
    public void close() {
        expAvg.clear();
        expAvgSq.clear();
        manager.close();
    }
}
