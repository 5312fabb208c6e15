package io.evocompress.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-layer sizes of a structurally pruned model, recorded in config.json next to the standard
 * fields (which keep the dense model's values: {@code num_attention_heads} still defines head_dim
 * and the key/value grouping, {@code intermediate_size} the widest MLP):
 * <ul>
 *   <li>{@code evocompress_kept_heads_per_layer}: per layer, the dense indices of the kept query heads
 *       (a family that prunes key/value heads with them, BLOOM, keeps the same key/value heads:
 *       {@link BlockShape#keptKvHeads});</li>
 *   <li>{@code evocompress_heads_per_layer}: per layer, their number (redundant, for readers);</li>
 *   <li>{@code evocompress_intermediate_per_layer}: per layer, the kept MLP neurons.</li>
 * </ul>
 * A config without these fields is a dense model (every block {@link BlockShape#dense}).
 */
public final class LayerShapes {
    public static final String KEPT_HEADS = "evocompress_kept_heads_per_layer";
    public static final String HEADS = "evocompress_heads_per_layer";
    public static final String INTERMEDIATE = "evocompress_intermediate_per_layer";
    private static final ObjectMapper JSON = new ObjectMapper();

    private LayerShapes() {
    }

    /** Every block dense. */
    public static List<BlockShape> dense(ModelConfig config) {
        List<BlockShape> out = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            out.add(BlockShape.dense(config));
        }
        return List.copyOf(out);
    }

    /** The per-layer shapes a config.json records, or all dense when it records none. */
    public static List<BlockShape> parse(String configJson, ModelConfig config, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(configJson);
        } catch (IOException e) {
            throw new EvocompressException(where + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode heads = root.get(KEPT_HEADS);
        JsonNode inter = root.get(INTERMEDIATE);
        if (heads == null && inter == null) {
            return dense(config);
        }
        if (heads == null || inter == null || !heads.isArray() || !inter.isArray()
            || heads.size() != config.numLayers() || inter.size() != config.numLayers()) {
            throw new EvocompressException(where + ": " + KEPT_HEADS + " and " + INTERMEDIATE
                + " must both be arrays with one entry per layer (" + config.numLayers() + ")");
        }
        List<BlockShape> out = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            JsonNode h = heads.get(i);
            if (!h.isArray() || !inter.get(i).canConvertToInt()) {
                throw new EvocompressException(where + ": layer " + i + " of " + KEPT_HEADS + " must be a list of head indices and of "
                    + INTERMEDIATE + " an integer");
            }
            int[] kept = new int[h.size()];
            for (int j = 0; j < kept.length; j++) {
                kept[j] = h.get(j).asInt();
            }
            BlockShape s = new BlockShape(kept, inter.get(i).asInt());
            s.check(config, i);
            out.add(s);
        }
        return List.copyOf(out);
    }

    /** The dense config.json with the per-layer fields added (or replaced). */
    public static String write(String denseConfigJson, List<BlockShape> shapes) {
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(denseConfigJson);
            ArrayNode kept = root.putArray(KEPT_HEADS);
            ArrayNode heads = root.putArray(HEADS);
            ArrayNode inter = root.putArray(INTERMEDIATE);
            for (BlockShape s : shapes) {
                ArrayNode k = kept.addArray();
                for (int h : s.keptHeads()) {
                    k.add(h);
                }
                heads.add(s.numHeads());
                inter.add(s.intermediate());
            }
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new EvocompressException("config.json is not valid JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Every parameter of a model with these block shapes: the dense model's ({@link ModelConfig#parameterCount})
     * less what each block's shape removes from its linear layers (weights and biases).
     */
    public static long parameterCount(ModelConfig c, List<BlockShape> shapes) {
        long total = c.parameterCount() - (long) c.numLayers() * BlockShape.dense(c).linearParams(c);
        for (BlockShape s : shapes) {
            total += s.linearParams(c);
        }
        return total;
    }
}
