package io.evocompress.checkpoint;

/**
 * How a checkpoint's stored tensor names relate to the names the rest of the code uses (those of the
 * family's causal-LM class, e.g. {@code model.layers.0.self_attn.q_proj.weight}). A checkpoint saved
 * from the base model class (Hugging Face's {@code LlamaModel}, {@code OPTModel}, {@code BloomModel})
 * stores the same tensors without the base model's prefix ({@code layers.0...}, {@code decoder.layers.0...},
 * {@code h.0...}); names under the head ({@code lm_head.*}) sit outside the base model and carry no
 * prefix in either layout.
 *
 * <p>{@link CheckpointReader} presents every tensor under its full name and reads it under its stored
 * one; {@link CheckpointWriter#named} writes a checkpoint in the naming of the one it was made from.
 *
 * @param prefix the base model's prefix the stored names lack ({@code "model."}, {@code "transformer."}),
 *               or empty when names are stored in full
 * @param head   the stem of names outside the base model ({@code "lm_head."}), stored as they are
 */
public record TensorNaming(String prefix, String head) {
    /** Names stored in full, as the causal-LM class saves them. */
    public static final TensorNaming FULL = new TensorNaming("", "");

    public TensorNaming {
        if (prefix == null || head == null || (!prefix.isEmpty() && (!prefix.endsWith(".") || head.isEmpty()))) {
            throw new IllegalArgumentException("prefix '" + prefix + "' must end with '.' and come with a head stem");
        }
    }

    /** A checkpoint whose names lack {@code prefix} (names starting with {@code head} excepted). */
    public static TensorNaming withoutPrefix(String prefix, String head) {
        return new TensorNaming(prefix, head);
    }

    /** Whether names are stored in full. */
    public boolean full() {
        return prefix.isEmpty();
    }

    /** The stored name of a full tensor name. */
    public String stored(String name) {
        return full() || !name.startsWith(prefix) ? name : name.substring(prefix.length());
    }

    /** The full name of a stored tensor name. */
    public String name(String stored) {
        return full() || stored.startsWith(head) ? stored : prefix + stored;
    }
}
