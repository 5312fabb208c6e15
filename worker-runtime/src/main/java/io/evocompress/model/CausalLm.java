package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import io.evocompress.EvocompressException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A causal language model of any registered family on DJL: token embeddings (with the family's
 * extras: learned positions, OPT's project_in, BLOOM's embedding norm), decoder blocks, the final
 * norm (OPT's project_out after it) and LM head (tied to the embeddings or not). Owns its weights'
 * {@link NDManager}; close it to free them.
 *
 * <p>Besides the whole forward ({@link #logits}) it exposes the block-level steps that calibration,
 * database building and candidate evaluation work with: {@link #embed}, {@link #runBlocks},
 * {@link #head}, and {@link DecoderBlock#replaceLinear}.
 */
public final class CausalLm implements AutoCloseable {
    private final ModelConfig config;
    private final NDManager manager;
    private final DataType dtype;
    private final NDArray embedTokens;   // (V, E), E = H unless OPT projects
    private final Extras extras;
    private final List<DecoderBlock> blocks;
    private final NormLayer finalNorm;   // (H), null when the family has none (OPT post-LN)
    private final NDArray lmHead;        // (V, E), the embeddings when tied

    /** The weights around the blocks some families have (each null when absent). */
    record Extras(NDArray positions, NDArray projectIn, NDArray projectOut, NormLayer embedNorm) {
        static Extras none() {
            return new Extras(null, null, null, null);
        }
    }
    private final Map<Integer, AttentionInputs> attentionInputs = new ConcurrentHashMap<>();

    CausalLm(ModelConfig config, NDManager manager, DataType dtype, NDArray embedTokens, Extras extras,
             List<DecoderBlock> blocks, NormLayer finalNorm, NDArray lmHead) {
        this.config = config;
        this.manager = manager;
        this.dtype = dtype;
        this.embedTokens = embedTokens;
        this.extras = extras;
        this.blocks = List.copyOf(blocks);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /** The family of this model. */
    public Architecture architecture() {
        return ArchitectureRegistry.forType(config.modelType(), "config");
    }

    public ModelConfig config() {
        return config;
    }

    /** Every block's shape (all dense unless the checkpoint was structurally pruned). */
    public List<BlockShape> blockShapes() {
        return blocks.stream().map(DecoderBlock::shape).toList();
    }

    /** Parameters of this model as loaded (per-layer shapes counted). */
    public long parameterCount() {
        return LayerShapes.parameterCount(config, blockShapes());
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The dtype the forward computes in (float32 on CPU; float16/bfloat16 on a GPU if asked). */
    public DataType dtype() {
        return dtype;
    }

    public NDManager manager() {
        return manager;
    }

    public int numBlocks() {
        return blocks.size();
    }

    public DecoderBlock block(int i) {
        return blocks.get(i);
    }

    /** Token ids (B, T) int -> hidden states (B, T, H) in the compute dtype, in ids' manager. */
    public NDArray embed(NDArray ids) {
        checkLength(ids.getShape().get(1));
        NDArray idx = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        NDArray x = idx.getNDArrayInternal().embedding(idx, embedTokens, SparseFormat.DENSE).singletonOrThrow();
        if (extras.projectIn() != null) {
            x = ai.djl.nn.core.Linear.linear(x, extras.projectIn(), null).singletonOrThrow();
        }
        if (extras.positions() != null) {
            // learned absolute positions, position t at row t + offset (OPT: 2); no padding, so t = 0..T-1
            long t = ids.getShape().get(1);
            int offset = config.forward().positionOffset();
            x = x.add(extras.positions().get(offset + ":" + (offset + t)));
        }
        if (extras.embedNorm() != null) {
            x = extras.embedNorm().apply(x);
        }
        return x;
    }

    /**
     * Runs blocks {@code from} (inclusive) to {@code to} (exclusive) on hidden states (B, T, H). The
     * result belongs to hidden's manager; temporaries are freed.
     */
    public NDArray runBlocks(NDArray hidden, int from, int to) {
        return runBlocks(hidden, from, to, null, null);
    }

    /**
     * As {@link #runBlocks(NDArray, int, int)}, skipping the attention or MLP half of block i where
     * {@code skipAttention[i]} or {@code skipMlp[i]} is set (null: none skipped).
     */
    public NDArray runBlocks(NDArray hidden, int from, int to, boolean[] skipAttention, boolean[] skipMlp) {
        return runBlocks(hidden, from, to, skipAttention, skipMlp, null);
    }

    private NDArray runBlocks(NDArray hidden, int from, int to, boolean[] skipAttention, boolean[] skipMlp,
                              LinearInputObserver observer) {
        if (from < 0 || to > blocks.size() || from > to) {
            throw new IllegalArgumentException("Block range [" + from + ", " + to + ") outside [0, " + blocks.size() + "]");
        }
        int t = Math.toIntExact(hidden.getShape().get(1));
        checkLength(t);
        AttentionInputs inputs = attentionInputs.computeIfAbsent(t, len -> AttentionInputs.build(manager, config, len, dtype));
        NDManager out = hidden.getManager();
        NDArray x = hidden;
        for (int i = from; i < to; i++) {
            try (NDManager scope = out.newSubManager()) {
                if (x == hidden) {
                    x.tempAttach(scope);  // the caller's input goes back to the caller
                } else {
                    x.attach(scope);      // the previous block's output is freed with the scope
                }
                NDArray next = blocks.get(i).forward(x, inputs,
                    skipAttention != null && skipAttention[i], skipMlp != null && skipMlp[i], observer);
                next.attach(out);
                x = next;
            }
        }
        return x;
    }

    /**
     * Runs block {@code index} alone on hidden states (B, T, H), reporting each linear layer's input
     * to {@code observer} (see {@link LinearInputObserver}). The result belongs to hidden's manager;
     * temporaries (the observed inputs included) are freed when this returns.
     */
    public NDArray runBlock(NDArray hidden, int index, LinearInputObserver observer) {
        if (index < 0 || index >= blocks.size()) {
            throw new IllegalArgumentException("Block index " + index + " outside [0, " + blocks.size() + ")");
        }
        return runBlocks(hidden, index, index + 1, null, null, observer);
    }

    /** Final norm (and project_out) and LM head: hidden (B, T, H) -> logits (B, T, V) in float32, in hidden's manager. */
    public NDArray head(NDArray hidden) {
        NDManager out = hidden.getManager();
        try (NDManager scope = out.newSubManager()) {
            hidden.tempAttach(scope);
            NDArray h = hidden.toType(dtype, false);
            if (finalNorm != null) {
                h = finalNorm.apply(h);
            }
            if (extras.projectOut() != null) {
                h = ai.djl.nn.core.Linear.linear(h, extras.projectOut(), null).singletonOrThrow();
            }
            NDArray logits = ai.djl.nn.core.Linear.linear(h, lmHead, null).singletonOrThrow().toType(DataType.FLOAT32, false);
            logits.attach(out);
            return logits;
        }
    }

    /** The whole forward: token ids (B, T) -> float32 logits (B, T, V), in ids' manager. */
    public NDArray logits(NDArray ids) {
        NDManager out = ids.getManager();
        try (NDManager scope = out.newSubManager()) {
            ids.tempAttach(scope);
            NDArray h = embed(ids);
            h = runBlocks(h, 0, blocks.size());
            NDArray logits = head(h);
            logits.attach(out);
            return logits;
        }
    }

    /**
     * Every weight of the model by its Hugging Face tensor name, in checkpoint order ({@link TensorLayout}):
     * the live arrays (owned by the model: do not close; training updates them in place). A tied LM
     * head is the embedding array and appears once, under the family's embedding name. A layer the
     * checkpoint stores fused appears as its part (e.g. {@code ...qkv_proj.q.weight});
     * {@link TensorLayout#fuse} gives the checkpoint's tensors.
     */
    public Map<String, NDArray> parameters() {
        Architecture arch = architecture();
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put(arch.embedTokens(), embedTokens);
        if (extras.positions() != null) {
            out.put(arch.positionEmbeddings(), extras.positions());
        }
        if (extras.projectIn() != null) {
            out.put(arch.projectIn(), extras.projectIn());
        }
        if (extras.embedNorm() != null) {
            DecoderBlock.putNorm(out, arch.embedNormStem(), extras.embedNorm());
        }
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).collectParameters(arch, arch.blockPrefix(i), out);
        }
        if (finalNorm != null) {
            DecoderBlock.putNorm(out, arch.finalNormStem(), finalNorm);
        }
        if (extras.projectOut() != null) {
            out.put(arch.projectOut(), extras.projectOut());
        }
        if (lmHead != embedTokens) {
            out.put(arch.lmHead(), lmHead);
        }
        return out;
    }

    private void checkLength(long seqLen) {
        if (seqLen > config.maxPositionEmbeddings()) {
            throw new EvocompressException("Sequence length " + seqLen + " exceeds the model's context of "
                + config.maxPositionEmbeddings() + " tokens (max_position_embeddings).");
        }
    }

    @Override
    public void close() {
        attentionInputs.values().forEach(AttentionInputs::close);
        attentionInputs.clear();
        manager.close();
    }
}
