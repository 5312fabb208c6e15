package io.evocompress.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;

import java.util.EnumMap;
import java.util.Map;

/**
 * One Llama-family decoder block: pre-norm grouped-query attention with rotary embeddings, then a
 * pre-norm SwiGLU MLP, each added to the residual stream. Its linear weights can be swapped (a
 * compressed variant in, the old weight out) and either half can be skipped (depth pruning).
 */
public final class DecoderBlock {
    private final ModelConfig config;
    private final BlockShape shape;
    private final int[] kvRepeats;       // per key/value head, kept query heads reading it (pruned heads only)
    private final NDArray inputNorm;     // (H) input_layernorm
    private final NDArray postAttnNorm;  // (H) post_attention_layernorm
    private final Map<LinearName, LinearLayer> linears = new EnumMap<>(LinearName.class);

    DecoderBlock(ModelConfig config, BlockShape shape, NDArray inputNorm, NDArray postAttnNorm,
                 Map<LinearName, LinearLayer> linears) {
        this.config = config;
        this.shape = shape;
        this.kvRepeats = new int[config.numKvHeads()];
        for (int h : shape.keptHeads()) {
            kvRepeats[h / config.groupSize()]++;
        }
        this.inputNorm = inputNorm;
        this.postAttnNorm = postAttnNorm;
        this.linears.putAll(linears);
    }

    /** Which heads and how many neurons this block has (dense unless structurally pruned). */
    public BlockShape shape() {
        return shape;
    }

    /** The current weight of a linear layer, [out, in] (owned by the model: do not close). */
    public NDArray weight(LinearName name) {
        return linears.get(name).weight;
    }

    /** Adds this block's weights under {@code prefix} (e.g. model.layers.0.), in checkpoint order. */
    void collectParameters(String prefix, Map<String, NDArray> out) {
        out.put(prefix + "input_layernorm.weight", inputNorm);
        for (Map.Entry<LinearName, LinearLayer> e : linears.entrySet()) {
            out.put(prefix + e.getKey().path() + ".weight", e.getValue().weight);
            if (e.getValue().bias != null) {
                out.put(prefix + e.getKey().path() + ".bias", e.getValue().bias);
            }
        }
        out.put(prefix + "post_attention_layernorm.weight", postAttnNorm);
    }

    /**
     * Replaces a linear layer's weight with {@code weight} [out, in]; the array moves to the model's
     * manager and the previous weight is returned (detached: the caller closes or keeps it).
     */
    public NDArray replaceLinear(LinearName name, NDArray weight) {
        LinearLayer layer = linears.get(name);
        long[] expected = shape.shape(name, config);
        if (!weight.getShape().equals(new Shape(expected))) {
            throw new EvocompressException("Replacement weight for " + name.path() + " has shape " + weight.getShape()
                + ", expected " + new Shape(expected));
        }
        NDArray old = layer.weight;
        NDArray moved = weight.toDevice(old.getDevice(), false).toType(old.getDataType(), false);
        moved.attach(old.getManager());
        layer.weight = moved;
        old.detach();
        return old;
    }

    /**
     * x: (B, T, H) -> (B, T, H). Temporaries belong to x's manager; the caller scopes them.
     *
     * @param skipAttention pass the residual through instead of the attention half
     * @param skipMlp       pass the residual through instead of the MLP half
     * @param observer      told every linear layer's input before the layer is applied (null: none)
     */
    NDArray forward(NDArray x, AttentionInputs inputs, boolean skipAttention, boolean skipMlp,
                    LinearInputObserver observer) {
        if (!skipAttention) {
            x = x.add(attention(rmsNorm(x, inputNorm), inputs, observer));
        }
        if (!skipMlp) {
            x = x.add(mlp(rmsNorm(x, postAttnNorm), observer));
        }
        return x;
    }

    private static void observe(LinearInputObserver observer, LinearName name, NDArray input) {
        if (observer != null) {
            observer.accept(name, input);
        }
    }

    private NDArray attention(NDArray h, AttentionInputs inputs, LinearInputObserver observer) {
        Shape s = h.getShape();
        long b = s.get(0);
        long t = s.get(1);
        int d = config.headDim();
        int kv = config.numKvHeads();
        int group = config.groupSize();
        if (!shape.allHeads(config)) {
            return prunedAttention(h, inputs, observer);
        }
        // qkv matmuls: (B, T, heads * d) -> (B, heads, T, d); one shared input, reported once
        observe(observer, LinearName.Q_PROJ, h);
        NDArray q = linears.get(LinearName.Q_PROJ).apply(h).reshape(b, t, config.numHeads(), d).transpose(0, 2, 1, 3);
        NDArray k = linears.get(LinearName.K_PROJ).apply(h).reshape(b, t, kv, d).transpose(0, 2, 1, 3);
        NDArray v = linears.get(LinearName.V_PROJ).apply(h).reshape(b, t, kv, d).transpose(0, 2, 1, 3);
        // RoPE (rotate-half)
        q = rope(q, inputs);
        k = rope(k, inputs);
        // grouped-query attention: query heads (B, kv, group, T, d) share key/value heads (B, kv, 1, T, d)
        NDArray q5 = q.reshape(b, kv, group, t, d);
        NDArray k5 = k.reshape(b, kv, 1, t, d);
        NDArray v5 = v.reshape(b, kv, 1, t, d);
        NDArray scores = scaled(q5.matMul(k5.transpose(0, 1, 2, 4, 3)), 1.0 / Math.sqrt(d)); // (B, kv, group, T, T)
        // causal mask and softmax, in float32
        DataType dtype = scores.getDataType();
        NDArray probs = scores.toType(DataType.FLOAT32, false).add(inputs.mask).softmax(-1).toType(dtype, false);
        NDArray out = probs.matMul(v5);                                                    // (B, kv, group, T, d)
        out = out.reshape(b, config.numHeads(), t, d).transpose(0, 2, 1, 3).reshape(b, t, (long) config.numHeads() * d);
        // output projection
        observe(observer, LinearName.O_PROJ, out);
        return linears.get(LinearName.O_PROJ).apply(out);
    }

    /**
     * Attention of a block with query heads removed: the kept query heads (B, hq, T, d) each attend with
     * the key/value head they read in the dense model; the key/value heads, kept whole, are repeated
     * to one per kept query head (heads ascending, so kept heads of one group are adjacent).
     */
    private NDArray prunedAttention(NDArray h, AttentionInputs inputs, LinearInputObserver observer) {
        Shape s = h.getShape();
        long b = s.get(0);
        long t = s.get(1);
        int d = config.headDim();
        int kv = config.numKvHeads();
        int hq = shape.numHeads();
        observe(observer, LinearName.Q_PROJ, h);
        NDArray q = linears.get(LinearName.Q_PROJ).apply(h).reshape(b, t, hq, d).transpose(0, 2, 1, 3);
        NDArray k = linears.get(LinearName.K_PROJ).apply(h).reshape(b, t, kv, d).transpose(0, 2, 1, 3);
        NDArray v = linears.get(LinearName.V_PROJ).apply(h).reshape(b, t, kv, d).transpose(0, 2, 1, 3);
        q = rope(q, inputs);
        k = rope(k, inputs);
        NDList ks = new NDList();
        NDList vs = new NDList();
        for (int j = 0; j < kv; j++) {
            if (kvRepeats[j] > 0) {
                String slice = ":, " + j + ":" + (j + 1);
                ks.add(k.get(slice).repeat(1, kvRepeats[j]));
                vs.add(v.get(slice).repeat(1, kvRepeats[j]));
            }
        }
        NDArray kq = ks.size() == 1 ? ks.get(0) : NDArrays.concat(ks, 1);  // (B, hq, T, d)
        NDArray vq = vs.size() == 1 ? vs.get(0) : NDArrays.concat(vs, 1);
        NDArray scores = scaled(q.matMul(kq.transpose(0, 1, 3, 2)), 1.0 / Math.sqrt(d)); // (B, hq, T, T)
        DataType dtype = scores.getDataType();
        NDArray probs = scores.toType(DataType.FLOAT32, false).add(inputs.mask).softmax(-1).toType(dtype, false);
        NDArray out = probs.matMul(vq).transpose(0, 2, 1, 3).reshape(b, t, (long) hq * d);
        observe(observer, LinearName.O_PROJ, out);
        return linears.get(LinearName.O_PROJ).apply(out);
    }

    private static NDArray rope(NDArray x, AttentionInputs inputs) {
        long half = x.getShape().get(3) / 2;
        NDArray x1 = x.get("..., :" + half);
        NDArray x2 = x.get("..., " + half + ":");
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(inputs.cos).add(rotated.mul(inputs.sin));
    }

    private NDArray mlp(NDArray h, LinearInputObserver observer) {
        // SwiGLU: down(silu(gate(h)) * up(h)); gate and up share one input, reported once
        observe(observer, LinearName.GATE_PROJ, h);
        NDArray gate = linears.get(LinearName.GATE_PROJ).apply(h);
        NDArray up = linears.get(LinearName.UP_PROJ).apply(h);
        NDArray act = gate.mul(ai.djl.nn.Activation.sigmoid(gate)).mul(up);
        observe(observer, LinearName.DOWN_PROJ, act);
        return linears.get(LinearName.DOWN_PROJ).apply(act);
    }

    /**
     * x times a constant, with the constant a tensor PyTorch allocated. DJL's {@code mul(Number)} wraps
     * the number in a tensor over a Java direct buffer and closes it on return; under autograd the
     * multiplication saves that tensor for the backward pass, which then reads the buffer after Java
     * may have freed it (training became irreproducible, now and then NaN, whenever a GC ran between
     * forward and backward). {@code full} allocates on the PyTorch side, which autograd keeps alive.
     */
    static NDArray scaled(NDArray x, double factor) {
        NDArray c = x.getManager().full(new Shape(), (float) factor, x.getDataType());
        return x.mul(c);
    }

    /** RMSNorm as Hugging Face: normalise in float32, cast back, then scale by the weight. */
    static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        DataType dtype = x.getDataType();
        NDArray xf = x.toType(DataType.FLOAT32, false);
        NDArray rms = xf.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return xf.div(rms).toType(dtype, false).mul(weight);
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        return rmsNorm(x, weight, config.rmsNormEps());
    }
}
