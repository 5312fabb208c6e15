package io.evocompress.fitness;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.evocompress.EvocompressException;
import io.evocompress.model.CausalLm;
import io.evocompress.model.DecoderBlock;
import io.evocompress.model.LinearName;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A dense model turned into one candidate at a time: {@link #apply} swaps in the candidate's variant
 * weights ({@link DecoderBlock#replaceLinear}) and sets its dropped block halves, changing only the
 * layers whose level differs from the spec applied before. The dense weights a variant displaces are
 * kept (never modified) and swapped back when a layer returns to dense, so applying B after A is the
 * same model as applying B to a fresh one, and {@link #close} leaves the model dense.
 *
 * <p>Not thread-safe: one task uses a candidate model at a time ({@link CandidateModelPool} lends
 * them out). Variant weights come from a {@link VariantArrayCache} as copies the model owns; a
 * displaced variant copy is freed at once.
 */
public final class CandidateModel implements AutoCloseable {
    private final CausalLm model;
    private final boolean ownsModel;
    private final String sourceId;
    private final VariantSource source;
    private final VariantArrayCache cache;
    private final NDManager held;                              // the displaced dense weights
    private final Map<String, NDArray> dense = new HashMap<>(); // layer -> its dense weight, while replaced
    private final Map<String, Location> layers = new HashMap<>();
    private CandidateSpec applied = CandidateSpec.dense();

    private record Location(int block, LinearName linear) {
    }

    /**
     * @param model     a dense model this object may change (not one shared through ModelCache)
     * @param ownsModel close the model with this object
     * @param sourceId  the source's identity in the variant cache (its database location)
     */
    public CandidateModel(CausalLm model, boolean ownsModel, String sourceId, VariantSource source, VariantArrayCache cache) {
        this.model = model;
        this.ownsModel = ownsModel;
        this.sourceId = sourceId;
        this.source = source;
        this.cache = cache;
        this.held = model.manager().newSubManager();
        io.evocompress.model.Architecture arch = model.architecture();
        for (int b = 0; b < model.numBlocks(); b++) {
            for (LinearName n : arch.linears(model.config())) {
                layers.put(arch.unitName(b, n), new Location(b, n));
            }
        }
    }

    public CausalLm model() {
        return model;
    }

    /** The spec the model currently computes. */
    public CandidateSpec applied() {
        return applied;
    }

    /**
     * Makes the model compute {@code spec}; returns how many layers were swapped.
     *
     * @throws EvocompressException when the spec names a layer the model lacks or has the wrong block count
     */
    public int apply(CandidateSpec spec) {
        check(spec);
        Set<String> touched = new HashSet<>(applied.levels().keySet());
        touched.addAll(spec.levels().keySet());
        int swapped = 0;
        for (String layer : touched.stream().sorted().toList()) {
            Integer want = spec.level(layer);
            Integer have = applied.level(layer);
            if (java.util.Objects.equals(want, have)) {
                continue;
            }
            Location at = layers.get(layer);
            DecoderBlock block = model.block(at.block);
            if (want == null) {
                // back to dense: the kept dense weight returns to the model, the variant copy is freed
                NDArray old = block.replaceLinear(at.linear, dense.remove(layer));
                old.close();
            } else {
                NDArray variant = cache.copy(sourceId, source, layer, want, model.dtype(), held);
                NDArray old = replace(block, at.linear, variant);
                if (have == null) {
                    old.attach(held);
                    dense.put(layer, old);
                } else {
                    old.close();
                }
            }
            applied = withLevel(applied, layer, want);
            swapped++;
        }
        applied = new CandidateSpec(applied.levels(), spec.skipAttention(), spec.skipMlp());
        return swapped;
    }

    /** Back to the dense model. */
    public int restoreDense() {
        return apply(CandidateSpec.dense());
    }

    /** Token ids (B, T) -> float32 logits (B, T, V) of the applied candidate, in ids' manager. */
    public NDArray logits(NDArray ids) {
        NDManager out = ids.getManager();
        try (NDManager scope = out.newSubManager()) {
            ids.tempAttach(scope);
            NDArray h = model.embed(ids);
            h = model.runBlocks(h, 0, model.numBlocks(), applied.skipAttention(), applied.skipMlp());
            NDArray logits = model.head(h);
            logits.attach(out);
            return logits;
        }
    }

    private static NDArray replace(DecoderBlock block, LinearName linear, NDArray variant) {
        NDArray old = block.replaceLinear(linear, variant);
        if (block.weight(linear) != variant) {
            variant.close(); // replaceLinear converted it: the model holds the converted copy
        }
        return old;
    }

    private static CandidateSpec withLevel(CandidateSpec spec, String layer, Integer level) {
        Map<String, Integer> levels = new HashMap<>(spec.levels());
        if (level == null) {
            levels.remove(layer);
        } else {
            levels.put(layer, level);
        }
        return new CandidateSpec(levels, spec.skipAttention(), spec.skipMlp());
    }

    private void check(CandidateSpec spec) {
        for (String layer : spec.levels().keySet()) {
            if (!layers.containsKey(layer)) {
                throw new EvocompressException("Candidate layer '" + layer + "' is not a linear layer of this model ("
                    + model.numBlocks() + " blocks; names look like " + model.architecture().unitName(0, LinearName.Q_PROJ) + ").");
            }
        }
        for (boolean[] flags : new boolean[][] {spec.skipAttention(), spec.skipMlp()}) {
            if (flags != null && flags.length != model.numBlocks()) {
                throw new EvocompressException("Candidate drop flags cover " + flags.length + " blocks, but the model has "
                    + model.numBlocks() + ".");
            }
        }
    }

    /** Restores the dense weights, then closes the model if this object owns it. */
    @Override
    public void close() {
        try {
            if (model.manager().isOpen()) {
                restoreDense();
            }
        } finally {
            held.close();
            if (ownsModel) {
                model.close();
            }
        }
    }
}
