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
 * One decoder block of any family, assembled from the shared parts its config's {@link ForwardSpec}
 * names: grouped-query attention (rotary positions or an ALiBi bias, or neither when positions are
 * learned), an MLP (SwiGLU, fc1-ReLU-fc2 or GELU-tanh), and a norm (RMSNorm or LayerNorm) before each
 * half (pre-LN) or after each residual add (OPT's post-LN). Its linear weights can be swapped (a
 * compressed variant in, the old weight out) and either half can be skipped (depth pruning).
 */
public final class DecoderBlock {
    private final ModelConfig config;
    private final BlockShape shape;
    private final int[] kvRepeats;         // per stored key/value head, kept query heads reading it (pruned heads only)
    private final boolean kvOnePerHead;    // every stored key/value head read by exactly one kept query head
    private final NormLayer attentionNorm; // input_layernorm (OPT: self_attn_layer_norm)
    private final NormLayer mlpNorm;       // post_attention_layernorm (OPT: final_layer_norm)
    private final Map<LinearName, LinearLayer> linears = new EnumMap<>(LinearName.class);

    DecoderBlock(ModelConfig config, BlockShape shape, NormLayer attentionNorm, NormLayer mlpNorm,
                 Map<LinearName, LinearLayer> linears) {
        this.config = config;
        this.shape = shape;
        int[] stored = shape.keptKvHeads(config);   // dense indices, ascending: the k/v rows this block has
        this.kvRepeats = new int[stored.length];
        for (int h : shape.keptHeads()) {
            kvRepeats[java.util.Arrays.binarySearch(stored, h / config.groupSize())]++;
        }
        this.kvOnePerHead = java.util.Arrays.stream(kvRepeats).allMatch(r -> r == 1);
        this.attentionNorm = attentionNorm;
        this.mlpNorm = mlpNorm;
        this.linears.putAll(linears);
    }

    /** The linear layers this block has (the family's, {@link Architecture#linears}), in forward order. */
    public java.util.Set<LinearName> linearNames() {
        return java.util.Collections.unmodifiableSet(linears.keySet());
    }

    /** Which heads and how many neurons this block has (dense unless structurally pruned). */
    public BlockShape shape() {
        return shape;
    }

    /** The current weight of a linear layer, [out, in] (owned by the model: do not close). */
    public NDArray weight(LinearName name) {
        return linears.get(name).weight;
    }

    /** Adds this block's weights under {@code prefix} (e.g. model.layers.0.), by unit name, in checkpoint order. */
    void collectParameters(Architecture arch, String prefix, Map<String, NDArray> out) {
        putNorm(out, prefix + arch.attentionNorm(), attentionNorm);
        for (Map.Entry<LinearName, LinearLayer> e : linears.entrySet()) {
            String path = arch.linearPath(e.getKey());
            out.put(prefix + path + ".weight", e.getValue().weight);
            if (e.getValue().bias != null) {
                out.put(prefix + path + ".bias", e.getValue().bias);
            }
        }
        putNorm(out, prefix + arch.mlpNorm(), mlpNorm);
    }

    static void putNorm(Map<String, NDArray> out, String stem, NormLayer norm) {
        out.put(stem + ".weight", norm.weight);
        if (norm.bias != null) {
            out.put(stem + ".bias", norm.bias);
        }
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
        boolean post = config.forward().postLayerNorm();
        if (!skipAttention) {
            x = post ? attentionNorm.apply(x.add(attention(x, inputs, observer)))
                : x.add(attention(attentionNorm.apply(x), inputs, observer));
        }
        if (!skipMlp) {
            x = post ? mlpNorm.apply(x.add(mlp(x, observer))) : x.add(mlp(mlpNorm.apply(x), observer));
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
        // causal mask (and ALiBi) and softmax, in float32
        DataType dtype = scores.getDataType();
        NDArray bias = inputs.alibi == null ? inputs.mask : inputs.mask.add(inputs.alibi.reshape(kv, group, 1, t));
        NDArray probs = scores.toType(DataType.FLOAT32, false).add(bias).softmax(-1).toType(dtype, false);
        NDArray out = probs.matMul(v5);                                                    // (B, kv, group, T, d)
        out = out.reshape(b, config.numHeads(), t, d).transpose(0, 2, 1, 3).reshape(b, t, (long) config.numHeads() * d);
        // output projection
        observe(observer, LinearName.O_PROJ, out);
        return linears.get(LinearName.O_PROJ).apply(out);
    }

    /**
     * Attention of a block with query heads removed: the kept query heads (B, hq, T, d) each attend with
     * the key/value head they read in the dense model; the stored key/value heads (all of them, or
     * where the family prunes them with their query heads only those read) are repeated to one per
     * kept query head (heads ascending, so kept heads of one group are adjacent). Each kept head adds
     * the ALiBi slope of its dense index.
     */
    private NDArray prunedAttention(NDArray h, AttentionInputs inputs, LinearInputObserver observer) {
        Shape s = h.getShape();
        long b = s.get(0);
        long t = s.get(1);
        int d = config.headDim();
        int kv = kvRepeats.length;
        int hq = shape.numHeads();
        observe(observer, LinearName.Q_PROJ, h);
        NDArray q = linears.get(LinearName.Q_PROJ).apply(h).reshape(b, t, hq, d).transpose(0, 2, 1, 3);
        NDArray k = linears.get(LinearName.K_PROJ).apply(h).reshape(b, t, kv, d).transpose(0, 2, 1, 3);
        NDArray v = linears.get(LinearName.V_PROJ).apply(h).reshape(b, t, kv, d).transpose(0, 2, 1, 3);
        q = rope(q, inputs);
        k = rope(k, inputs);
        NDArray kq = k;                                                    // (B, hq, T, d)
        NDArray vq = v;
        if (!kvOnePerHead) {   // else every stored key/value head is read by exactly one kept query head, in order (BLOOM)
            NDList ks = new NDList();
            NDList vs = new NDList();
            for (int j = 0; j < kv; j++) {
                if (kvRepeats[j] > 0) {
                    String slice = ":, " + j + ":" + (j + 1);
                    ks.add(k.get(slice).repeat(1, kvRepeats[j]));
                    vs.add(v.get(slice).repeat(1, kvRepeats[j]));
                }
            }
            kq = ks.size() == 1 ? ks.get(0) : NDArrays.concat(ks, 1);
            vq = vs.size() == 1 ? vs.get(0) : NDArrays.concat(vs, 1);
        }
        NDArray scores = scaled(q.matMul(kq.transpose(0, 1, 3, 2)), 1.0 / Math.sqrt(d)); // (B, hq, T, T)
        DataType dtype = scores.getDataType();
        NDArray bias = inputs.mask;
        if (inputs.alibi != null) {
            NDList kept = new NDList();
            for (int head : shape.keptHeads()) {
                kept.add(inputs.alibi.get(head + ":" + (head + 1)));
            }
            bias = bias.add(kept.size() == 1 ? kept.get(0) : NDArrays.concat(kept, 0));  // (hq, 1, T)
        }
        NDArray probs = scores.toType(DataType.FLOAT32, false).add(bias).softmax(-1).toType(dtype, false);
        NDArray out = probs.matMul(vq).transpose(0, 2, 1, 3).reshape(b, t, (long) hq * d);
        observe(observer, LinearName.O_PROJ, out);
        return linears.get(LinearName.O_PROJ).apply(out);
    }

    private static NDArray rope(NDArray x, AttentionInputs inputs) {
        if (inputs.cos == null) {
            return x;
        }
        long half = x.getShape().get(3) / 2;
        NDArray x1 = x.get("..., :" + half);
        NDArray x2 = x.get("..., " + half + ":");
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(inputs.cos).add(rotated.mul(inputs.sin));
    }

    private NDArray mlp(NDArray h, LinearInputObserver observer) {
        NDArray act;
        if (config.forward().mlp().gated()) {
            // SwiGLU: down(silu(gate(h)) * up(h)); gate and up share one input, reported once
            observe(observer, LinearName.GATE_PROJ, h);
            NDArray gate = linears.get(LinearName.GATE_PROJ).apply(h);
            NDArray up = linears.get(LinearName.UP_PROJ).apply(h);
            act = gate.mul(ai.djl.nn.Activation.sigmoid(gate)).mul(up);
        } else {
            // fc1-act-fc2: the up projection (OPT fc1, BLOOM dense_h_to_4h) reads the normed input
            observe(observer, LinearName.UP_PROJ, h);
            NDArray up = linears.get(LinearName.UP_PROJ).apply(h);
            act = config.forward().mlp() == ForwardSpec.Mlp.RELU ? ai.djl.nn.Activation.relu(up) : geluTanh(up);
        }
        observe(observer, LinearName.DOWN_PROJ, act);
        return linears.get(LinearName.DOWN_PROJ).apply(act);
    }

    /** GELU with the tanh approximation, BLOOM's constants: x/2 (1 + tanh(0.79788456 x (1 + 0.044715 x^2))). */
    static NDArray geluTanh(NDArray x) {
        NDArray inner = scaled(x.mul(scaled(x.square(), 0.044715).add(1)), 0.79788456);
        return scaled(x, 0.5).mul(inner.tanh().add(1));
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
        return NormLayer.rmsNorm(x, weight, eps);
    }
}
