package io.evocompress.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * A model family: how its config.json maps onto a {@link ModelConfig} (whose {@link ForwardSpec}
 * says how the shared forward parts are assembled), its tensor names, the linear layers of a block
 * and how they are stored (fused tensors split on load and fused again on save). A family lives in
 * its own package ({@code model.llama}, {@code model.opt}, {@code model.bloom}, {@code model.phi3})
 * and is registered in {@link ArchitectureRegistry}.
 *
 * <p>The linear layers of a block are named by their role ({@link LinearName}: q, k, v, o, gate, up,
 * down); the role fixes the shape, the bias flag, the input the layer reads (its Hessian group,
 * {@link io.evocompress.calibration.InputGroup}) and the structure DarwinLM may remove (query heads:
 * q rows and o columns; MLP neurons: gate/up rows and down columns). The family gives each role its
 * Hugging Face name ({@link #linearPath}); a layer stored inside a fused tensor is named
 * {@code <fused path>.<part>} (e.g. Phi-3's {@code self_attn.qkv_proj.q}): that is the unit the
 * database, the search and the exported profile use.
 */
public interface Architecture {
    /** The config.json {@code model_type} this family is registered under. */
    String modelType();

    ModelConfig parse(ConfigFields fields);

    /**
     * The prefix of every tensor of the base model inside the causal-LM class (Hugging Face's
     * {@code base_model_prefix} plus a dot: {@code model.}; BLOOM {@code transformer.}). A checkpoint
     * saved from the base model stores its tensors without it ({@link CheckpointNaming}); the names
     * below are the full ones.
     */
    default String basePrefix() {
        return "model.";
    }

    /** Tensor names, as in Hugging Face checkpoints of this family. */
    default String blockPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    /** The stem all block prefixes share, e.g. {@code model.layers} (the prefix is stem + "." + layer + "."). */
    default String blockStem() {
        String p = blockPrefix(0);
        return p.substring(0, p.length() - 3);
    }

    default String embedTokens() {
        return "model.embed_tokens.weight";
    }

    /** The final norm's name without {@code .weight}/{@code .bias}. */
    default String finalNormStem() {
        return "model.norm";
    }

    /** The final norm's weight. */
    default String finalNorm() {
        return finalNormStem() + ".weight";
    }

    default String lmHead() {
        return "lm_head.weight";
    }

    /** Learned absolute position embeddings (OPT), or null. */
    default String positionEmbeddings() {
        return null;
    }

    /** The norm right after the token embeddings (BLOOM), without .weight/.bias, or null. */
    default String embedNormStem() {
        return null;
    }

    /** The projection from the embedding width to the hidden size (OPT's project_in), or null. */
    default String projectIn() {
        return null;
    }

    /** The projection from the hidden size back to the embedding width (OPT's project_out), or null. */
    default String projectOut() {
        return null;
    }

    /** The norm before attention, inside a block, without .weight/.bias. */
    default String attentionNorm() {
        return "input_layernorm";
    }

    /** The norm before the MLP (after it under post-LN), inside a block, without .weight/.bias. */
    default String mlpNorm() {
        return "post_attention_layernorm";
    }

    /** The linear layers of a block of this config, in forward order. */
    default List<LinearName> linears(ModelConfig config) {
        List<LinearName> out = new ArrayList<>(List.of(LinearName.values()));
        if (!config.forward().mlp().gated()) {
            out.remove(LinearName.GATE_PROJ);
        }
        return List.copyOf(out);
    }

    /** A layer's name inside a block, e.g. {@code self_attn.q_proj} or {@code self_attn.qkv_proj.q}. */
    default String linearPath(LinearName name) {
        return name.path();
    }

    /** Tensors of a block that store several linear layers (their weights and biases fused by rows). */
    default List<FusedLinear> fused() {
        return List.of();
    }

    /** The fused tensor holding {@code name}, or null when the layer is stored alone. */
    default FusedLinear fusedOf(LinearName name) {
        for (FusedLinear f : fused()) {
            if (f.parts().contains(name)) {
                return f;
            }
        }
        return null;
    }

    /**
     * Whether a block with query heads removed (DarwinLM) also drops the key/value heads no kept query
     * head reads: true where q, k and v are stored per head and must keep one head count (BLOOM's
     * {@code query_key_value}, multi-head attention: a removed head takes its q, k and v rows and its o
     * columns). False (the default): k and v stay whole, as grouped-query attention needs.
     */
    default boolean prunesKeyValueWithHeads() {
        return false;
    }

    /** The config.json key holding the number of blocks (written back when depth pruning removes blocks). */
    default String layerCountKey() {
        return "num_hidden_layers";
    }

    /** The unit name of a block's linear layer: {@code blockPrefix(block) + linearPath(name)}. */
    default String unitName(int block, LinearName name) {
        return blockPrefix(block) + linearPath(name);
    }

    /** Common reading of a config.json node. */
    interface ConfigFields {
        JsonNode root();

        int requiredInt(String field);

        int optionalInt(String field, int defaultValue);

        double optionalDouble(String field, double defaultValue);

        boolean optionalBoolean(String field, boolean defaultValue);

        RopeScaling ropeScaling();
    }
}
