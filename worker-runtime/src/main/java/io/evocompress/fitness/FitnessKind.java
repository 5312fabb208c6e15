package io.evocompress.fitness;

import io.evocompress.EvocompressException;

import java.util.Arrays;
import java.util.Locale;

/**
 * What a candidate's fitness measures (ALGORITHMS.md section 3, "Fitness"); lower is better for all.
 * {@code kl}: KL(P_dense || Q_candidate) per position over the full vocabulary (the default);
 * {@code topk-kl}: the same over the dense model's K most likely tokens, both distributions
 * renormalised over them; {@code ppl}: the candidate's perplexity on the tokens.
 */
public enum FitnessKind {
    KL("kl"),
    TOPK_KL("topk-kl"),
    PPL("ppl");

    private final String id;

    FitnessKind(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** Whether the dense model's outputs on the calibration pool are needed. */
    public boolean needsTeacher() {
        return this != PPL;
    }

    public static FitnessKind parse(String s) {
        String k = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        for (FitnessKind f : values()) {
            if (f.id.equals(k)) {
                return f;
            }
        }
        throw new EvocompressException("fitness must be one of " + Arrays.stream(values()).map(FitnessKind::id).toList()
            + ", but was '" + s + "'");
    }
}
