package io.evocompress.fitness;

import io.evocompress.model.LinearName;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One candidate model, as the evaluator applies it: for each compressed linear layer (named as in the
 * checkpoint, {@code model.layers.3.self_attn.q_proj}) its database level; a layer absent from
 * {@code levels} keeps its dense weight. For the depth domain, {@code skipAttention[i]} /
 * {@code skipMlp[i]} drop the attention / MLP half of block i (null: nothing dropped).
 *
 * @param levels        layer name -> database level (sorted, unmodifiable)
 * @param skipAttention per block, or null
 * @param skipMlp       per block, or null
 */
public record CandidateSpec(SortedMap<String, Integer> levels, boolean[] skipAttention, boolean[] skipMlp)
    implements Serializable {

    private static final CandidateSpec DENSE = new CandidateSpec(Map.of(), null, null);

    public CandidateSpec(Map<String, Integer> levels, boolean[] skipAttention, boolean[] skipMlp) {
        this(new TreeMap<>(levels), skipAttention, skipMlp);
    }

    public CandidateSpec {
        TreeMap<String, Integer> copy = new TreeMap<>();
        levels.forEach((layer, level) -> {
            if (layer == null) {
                throw new IllegalArgumentException("A candidate's layer name must not be null");
            }
            if (level != null) {
                copy.put(layer, level);
            }
        });
        levels = Collections.unmodifiableSortedMap(copy);
        if (skipAttention != null && skipMlp != null && skipAttention.length != skipMlp.length) {
            throw new IllegalArgumentException("skipAttention has " + skipAttention.length + " blocks but skipMlp has "
                + skipMlp.length);
        }
        skipAttention = skipAttention == null ? null : skipAttention.clone();
        skipMlp = skipMlp == null ? null : skipMlp.clone();
    }

    /** The dense model: no layer replaced, no block half dropped. */
    public static CandidateSpec dense() {
        return DENSE;
    }

    /** Every given layer at the given levels, nothing dropped. */
    public static CandidateSpec ofLevels(Map<String, Integer> levels) {
        return new CandidateSpec(levels, null, null);
    }

    /** Only block halves dropped (the depth domain). */
    public static CandidateSpec ofDepth(boolean[] skipAttention, boolean[] skipMlp) {
        return new CandidateSpec(Map.of(), skipAttention, skipMlp);
    }

    /**
     * The name of a linear layer of a Llama-layout model: {@code model.layers.<block>.<path>} (tests;
     * a model's own names come from its family, {@link io.evocompress.model.Architecture#unitName}).
     */
    public static String layerName(int block, LinearName linear) {
        return "model.layers." + block + "." + linear.path();
    }

    /** The level of a layer, or null when it stays dense. */
    public Integer level(String layer) {
        return levels.get(layer);
    }

    public boolean skipsAttention(int block) {
        return skipAttention != null && skipAttention[block];
    }

    public boolean skipsMlp(int block) {
        return skipMlp != null && skipMlp[block];
    }

    @Override
    public boolean[] skipAttention() {
        return skipAttention == null ? null : skipAttention.clone();
    }

    @Override
    public boolean[] skipMlp() {
        return skipMlp == null ? null : skipMlp.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CandidateSpec s && levels.equals(s.levels)
            && Arrays.equals(normal(skipAttention), normal(s.skipAttention)) && Arrays.equals(normal(skipMlp), normal(s.skipMlp));
    }

    @Override
    public int hashCode() {
        return 31 * (31 * levels.hashCode() + Arrays.hashCode(normal(skipAttention))) + Arrays.hashCode(normal(skipMlp));
    }

    /** An all-false flag array means the same as none. */
    private static boolean[] normal(boolean[] flags) {
        if (flags == null) {
            return null;
        }
        for (boolean f : flags) {
            if (f) {
                return flags;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "CandidateSpec" + levels + (skipAttention == null ? "" : " skipAttention=" + Arrays.toString(skipAttention))
            + (skipMlp == null ? "" : " skipMlp=" + Arrays.toString(skipMlp));
    }
}
