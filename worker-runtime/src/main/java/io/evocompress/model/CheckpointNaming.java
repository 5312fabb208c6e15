package io.evocompress.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.checkpoint.TensorNaming;

import java.util.Map;

/**
 * Which naming a checkpoint's tensors use, read once from its tensor index when it is opened
 * ({@link io.evocompress.checkpoint.CheckpointReader#open}): the full names of the family's causal-LM
 * class ({@code model.decoder.layers.0...}), or the base model's names without its prefix
 * ({@link Architecture#basePrefix}: {@code decoder.layers.0...}), as Hugging Face's
 * {@code base_model_prefix} loading accepts. Tensors under the head ({@code lm_head.*}) count for
 * neither. A checkpoint mixing both, or holding tensors but none of the family's in either form, fails
 * here, naming the file and a tensor.
 */
public final class CheckpointNaming {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointNaming() {
    }

    /**
     * The naming of a checkpoint's tensors ({@code tensors}: stored name -> its file), for the family
     * config.json names; {@link TensorNaming#FULL} when the config names no known family (the
     * config's own error comes when it is parsed).
     */
    public static TensorNaming detect(String configJson, Map<String, SafetensorsFile> tensors) {
        Architecture arch = family(configJson);
        if (arch == null) {
            return TensorNaming.FULL;
        }
        String prefix = arch.basePrefix();
        String lmHead = arch.lmHead();
        String head = lmHead.substring(0, lmHead.indexOf('.') + 1);
        String prefixed = null;
        String bare = null;
        for (String name : tensors.keySet()) {
            if (name.startsWith(head)) {
                continue;
            }
            if (name.startsWith(prefix)) {
                prefixed = prefixed == null ? name : prefixed;
            } else {
                bare = bare == null ? name : bare;
            }
        }
        if (bare == null) {
            return TensorNaming.FULL;
        }
        TensorNaming without = TensorNaming.withoutPrefix(prefix, head);
        String type = arch.modelType();
        if (prefixed != null) {
            throw new EvocompressException(tensors.get(bare).path() + ": tensor '" + bare + "' is named without the "
                + type + " base model's prefix '" + prefix + "', but '" + prefixed + "' (" + tensors.get(prefixed).path()
                + ") has it: a checkpoint names all its tensors one way, either as the causal-LM model saves them ('"
                + arch.embedTokens() + "') or as the base model does ('" + without.stored(arch.embedTokens())
                + "'). Rename the tensors of one kind, or use the checkpoint these shards came from.");
        }
        String embed = without.stored(arch.embedTokens());
        String blocks = without.stored(arch.blockPrefix(0));
        if (!tensors.containsKey(embed) && tensors.keySet().stream().noneMatch(n -> n.startsWith(blocks))) {
            throw new EvocompressException(tensors.get(bare).path() + ": tensor '" + bare + "' is not named as a " + type
                + " checkpoint names its tensors, with the prefix '" + prefix + "' ('" + arch.embedTokens() + "', '"
                + arch.blockPrefix(0) + "...') or without it ('" + embed + "', '" + blocks + "...'): check that "
                + "config.json's model_type '" + type + "' belongs to these weights.");
        }
        return without;
    }

    /** The family config.json's model_type names, or null (no JSON object, no or an unknown model_type). */
    private static Architecture family(String configJson) {
        JsonNode type;
        try {
            type = JSON.readTree(configJson).get("model_type");
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
        return type == null || !type.isTextual() ? null : ArchitectureRegistry.find(type.asText());
    }
}
