package io.evocompress.fitness;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import io.evocompress.metrics.TokenMetrics;
import io.evocompress.model.Architecture;
import io.evocompress.model.CausalLm;
import io.evocompress.model.DecoderBlock;
import io.evocompress.model.LinearName;
import io.evocompress.model.StreamedLm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores several candidates together on one minibatch with the dense weights streamed block by block
 * ({@link StreamedLm}), computing each distinct prefix once: candidates whose levels (and dropped halves)
 * agree on every half block up to h share their hidden states after h (a prefix tree over the genomes in
 * block order, half block by half block: block b's attention half, then its MLP half; the dense model at
 * its root). At block b the dense block is on the device, and for each half the child groups that compute
 * the same there (the same levels of the half's layers, whatever their prefixes) swap those variants in once
 * ({@link DecoderBlock#replaceLinear}), run the half together, their states concatenated along the batch
 * dimension in calls of up to {@code width} batches of one sequence length, and swap the dense weights back.
 * Each candidate's sums equal {@link CandidateScorer}'s on the resident model bit for bit: the same batches,
 * the same weights, the same operations in the same order (a block's forward is its attention half then its
 * MLP half; every operation of a block is row-wise in the batch dimension, so a sequence's rows come out the
 * same however many sequences run beside it; asserted at widths 1, 2 and 16).
 *
 * <p>Device memory: one block with one group's variants, plus the hidden states of every live group (one
 * per distinct prefix at the current half block, all batches of the minibatch) and one call's temporaries
 * (up to {@code width} batches' block temporaries, or one batch's logits); {@link CandidatesAtOnce} bounds how
 * many candidates a task scores together, and how many batches a call concatenates, so that this fits its
 * device.
 */
public final class SharedPrefixScorer {
    private final FitnessKind kind;
    private final int batchSize;
    private final int width;

    /**
     * The scores, in the order of the specs, and the work: {@code blockTokens} counts every block run times
     * the tokens it ran on (a half block counting one half, a dropped half nothing), {@code naiveBlockTokens}
     * blocks x tokens x candidates (one full forward per candidate, nothing shared or dropped).
     */
    public record Result(List<CandidateScore> scores, double blockTokens, double naiveBlockTokens) {
    }

    /** A set of candidates sharing their prefix so far, and its hidden states per batch. */
    private record Group(List<Integer> members, NDArray[] hidden) {
    }

    /** One call per batch of each group and half block ({@code width} 1). */
    public SharedPrefixScorer(FitnessKind kind, int batchSize) {
        this(kind, batchSize, 1);
    }

    /**
     * @param width at most this many batches' states (of any groups computing the same there) concatenated into
     *              one call of a half block ({@link CandidatesAtOnce#width}); 1 runs each batch of each group alone
     */
    public SharedPrefixScorer(FitnessKind kind, int batchSize, int width) {
        if (width < 1) {
            throw new IllegalArgumentException("width " + width + " < 1");
        }
        this.kind = kind;
        this.batchSize = batchSize;
        this.width = width;
    }

    /**
     * As {@link #score}, at most {@code atOnce} candidates together ({@link CandidatesAtOnce}): the specs in
     * consecutive groups of that many, each scored together; the same scores, the groups' work summed.
     */
    public Result scoreAtMost(int atOnce, StreamedLm dense, List<CandidateSpec> specs, String sourceId, VariantSource source,
                              VariantArrayCache cache, TeacherOutputs teacher, int[][] pool, int[] sequences, int[] lengths) {
        if (atOnce >= specs.size()) {
            return score(dense, specs, sourceId, source, cache, teacher, pool, sequences, lengths);
        }
        List<CandidateScore> scores = new ArrayList<>();
        double work = 0;
        double naive = 0;
        for (int from = 0; from < specs.size(); from += atOnce) {
            Result r = score(dense, specs.subList(from, Math.min(specs.size(), from + atOnce)), sourceId, source, cache,
                teacher, pool, sequences, lengths);
            scores.addAll(r.scores());
            work += r.blockTokens();
            naive += r.naiveBlockTokens();
        }
        return new Result(List.copyOf(scores), work, naive);
    }

    public Result score(StreamedLm dense, List<CandidateSpec> specs, String sourceId, VariantSource source,
                        VariantArrayCache cache, TeacherOutputs teacher, int[][] pool, int[] sequences, int[] lengths) {
        CandidateScorer reference = new CandidateScorer(kind, batchSize);
        List<int[]> batches = reference.batches(pool, sequences, lengths);
        int n = dense.numBlocks();
        Architecture arch = io.evocompress.model.ArchitectureRegistry.forType(dense.config().modelType(), "config");
        List<LinearName> linears = arch.linears(dense.config());
        long tokens = tokens(batches, lengths);
        double work = 0;
        try (NDManager wave = NDManager.newBaseManager(dense.device())) {
            NDArray[] ids = new NDArray[batches.size()];
            int[][] seqs = new int[batches.size()][];
            for (int i = 0; i < ids.length; i++) {
                int[] batch = batches.get(i);
                int t = lengths[batch[0]];
                seqs[i] = new int[batch.length];
                int[] flat = new int[batch.length * t];
                for (int b = 0; b < batch.length; b++) {
                    seqs[i][b] = sequences[batch[b]];
                    System.arraycopy(pool[seqs[i][b]], 0, flat, b * t, t);
                }
                ids[i] = wave.create(flat, new Shape(batch.length, t));
            }
            List<Integer> everyone = new ArrayList<>();
            for (int c = 0; c < specs.size(); c++) {
                everyone.add(c);
            }
            NDArray[] embedded = new NDArray[ids.length];
            try (CausalLm stage = dense.embedding()) {
                for (int i = 0; i < ids.length; i++) {
                    NDManager own = wave.newSubManager();
                    try (NDManager scope = own.newSubManager()) {
                        ids[i].tempAttach(scope);
                        NDArray h = stage.embed(ids[i]);
                        h.attach(own);
                        embedded[i] = h;
                    }
                }
            }
            List<Group> groups = List.of(new Group(everyone, embedded));
            for (int block = 0; block < n; block++) {
                try (CausalLm stage = dense.block(block)) {
                    DecoderBlock blk = stage.block(0);
                    for (boolean attention : new boolean[] {true, false}) {
                        List<Group> next = new ArrayList<>();
                        work += runHalf(groups, next, blk, stage, attention, block, specs, arch, linears, sourceId, source,
                            cache, dense) * tokens;
                        groups = next;
                    }
                }
            }
            CandidateScore[] scores = new CandidateScore[specs.size()];
            try (CausalLm head = dense.head()) {
                for (Group g : groups) {
                    double sum = 0;
                    long positions = 0;
                    for (int i = 0; i < ids.length; i++) {
                        long t = ids[i].getShape().get(1);
                        try (NDManager scope = g.hidden()[i].getManager().newSubManager()) {
                            g.hidden()[i].tempAttach(scope);
                            ids[i].tempAttach(scope);
                            NDArray logits = head.head(g.hidden()[i]);
                            sum += switch (kind) {
                                case KL -> TokenMetrics.klSumFromLogProbs(teacher.logProbs(scope, seqs[i], (int) t), logits);
                                case TOPK_KL -> TokenMetrics.topKKlSum(teacher.topIndices(scope, seqs[i], (int) t),
                                    teacher.topLogProbs(scope, seqs[i], (int) t), logits);
                                case PPL -> TokenMetrics.nllSum(logits, ids[i]);
                            };
                            positions += seqs[i].length * (t - 1);
                        }
                    }
                    if (positions == 0) {
                        throw new EvocompressException("The minibatch has no position to score (every entry is shorter than 2 tokens)");
                    }
                    double mean = sum / positions;
                    CandidateScore s = new CandidateScore(kind == FitnessKind.PPL ? Math.exp(mean) : mean, sum, positions,
                        FitnessTiming.ZERO);
                    for (int c : g.members()) {
                        scores[c] = s;
                    }
                }
            }
            double naive = (double) n * tokens * specs.size();
            return new Result(List.of(scores), work, naive);
        }
    }

    /**
     * Splits every group of {@code groups} by what its candidates compute in one half of block {@code block}
     * (its attention half, or its MLP half) and runs that half once per child: the children of every group that
     * compute the same (the same levels of the half's layers) run together, their variants swapped in once and
     * the dense weights swapped back after, their states concatenated along the batch dimension (every batch of
     * every such child of one sequence length, at most {@code width} batches per call), and split again after; a
     * child dropping the half passes its parent's states through. Frees the parents' states unless passed
     * through. Returns the blocks run (half a block per child).
     */
    private double runHalf(List<Group> groups, List<Group> next, DecoderBlock blk, CausalLm stage, boolean attention,
                           int block, List<CandidateSpec> specs, Architecture arch, List<LinearName> linears, String sourceId,
                           VariantSource source, VariantArrayCache cache, StreamedLm dense) {
        Map<String, List<Group>> byKey = new LinkedHashMap<>();   // key -> (parent's states, child's members)
        for (Group g : groups) {
            Map<String, List<Integer>> children = new LinkedHashMap<>();
            for (int c : g.members()) {
                children.computeIfAbsent(key(specs.get(c), arch, linears, block, attention), k -> new ArrayList<>()).add(c);
            }
            children.forEach((k, members) -> byKey.computeIfAbsent(k, x -> new ArrayList<>()).add(new Group(members, g.hidden())));
        }
        double blocks = 0;
        java.util.Set<NDArray[]> passed = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (List<Group> children : byKey.values()) {
            CandidateSpec spec = specs.get(children.get(0).members().get(0));
            if (attention ? spec.skipsAttention(block) : spec.skipsMlp(block)) {
                for (Group child : children) {
                    next.add(child);
                    passed.add(child.hidden());
                }
                continue;
            }
            try (NDManager held = NDManager.newBaseManager(dense.device())) {
                Map<LinearName, NDArray> displaced = new LinkedHashMap<>();
                for (LinearName name : linears) {
                    Integer level = spec.level(arch.unitName(block, name));
                    if (name.isAttention() == attention && level != null) {
                        NDArray variant = cache.copy(sourceId, source, arch.unitName(block, name), level, dense.dtype(), held);
                        NDArray old = blk.replaceLinear(name, variant);
                        old.attach(held);
                        displaced.put(name, old);
                    }
                }
                boolean[] skipA = {!attention};
                boolean[] skipM = {attention};
                // the children's batches, by sequence length, run in calls of up to `width` batches each
                int batches = groups.get(0).hidden().length;
                NDArray[][] out = new NDArray[children.size()][batches];
                Map<Long, List<int[]>> byLength = new LinkedHashMap<>();
                for (int k = 0; k < children.size(); k++) {
                    for (int i = 0; i < batches; i++) {
                        byLength.computeIfAbsent(children.get(k).hidden()[i].getShape().get(1), t -> new ArrayList<>())
                            .add(new int[] {k, i});
                    }
                }
                for (List<int[]> same : byLength.values()) {
                    for (int from = 0; from < same.size(); from += width) {
                        runTogether(same.subList(from, Math.min(same.size(), from + width)), children, out, stage, skipA, skipM);
                    }
                }
                for (int k = 0; k < children.size(); k++) {
                    next.add(new Group(children.get(k).members(), out[k]));
                }
                blocks += 0.5 * children.size();
                displaced.forEach((name, weight) -> blk.replaceLinear(name, weight).close());
            }
        }
        for (Group g : groups) {
            if (!passed.contains(g.hidden())) {
                for (NDArray h : g.hidden()) {
                    h.close();
                }
            }
        }
        return blocks;
    }

    /**
     * Runs one half block (the variants in place) on the states of {@code call}'s (child, batch) pairs, all of
     * one sequence length, as one call: concatenated along the batch dimension and split again after (a single
     * pair runs as it is); each result goes to {@code out[child][batch]}, in its input's manager.
     */
    private static void runTogether(List<int[]> call, List<Group> children, NDArray[][] out, CausalLm stage, boolean[] skipA,
                                    boolean[] skipM) {
        if (call.size() == 1) {
            int[] one = call.get(0);
            out[one[0]][one[1]] = stage.runBlocks(children.get(one[0]).hidden()[one[1]], 0, 1, skipA, skipM);
            return;
        }
        NDManager home = children.get(call.get(0)[0]).hidden()[call.get(0)[1]].getManager();
        try (NDManager scope = home.newSubManager()) {
            NDList parts = new NDList(call.size());
            long[] ends = new long[call.size() - 1];
            long rows = 0;
            for (int p = 0; p < call.size(); p++) {
                NDArray h = children.get(call.get(p)[0]).hidden()[call.get(p)[1]];
                parts.add(h);
                rows += h.getShape().get(0);
                if (p < ends.length) {
                    ends[p] = rows;
                }
            }
            NDArray together = NDArrays.concat(parts);
            together.attach(scope);
            NDArray ran = stage.runBlocks(together, 0, 1, skipA, skipM);
            ran.attach(scope);
            NDList pieces = ran.split(ends, 0);
            for (int p = 0; p < call.size(); p++) {
                int[] pair = call.get(p);
                out[pair[0]][pair[1]] = pieces.get(p);
                out[pair[0]][pair[1]].attach(children.get(pair[0]).hidden()[pair[1]].getManager());
            }
        }
    }

    /**
     * What one half of block {@code block} of a candidate computes: whether it drops the half, and the levels
     * of the half's layers where it runs it (a dropped half's levels change nothing, so candidates differing
     * only there share).
     */
    private static String key(CandidateSpec spec, Architecture arch, List<LinearName> linears, int block, boolean attention) {
        boolean skip = attention ? spec.skipsAttention(block) : spec.skipsMlp(block);
        StringBuilder k = new StringBuilder().append(skip);
        if (!skip) {
            for (LinearName name : linears) {
                if (name.isAttention() == attention) {
                    k.append(',').append(spec.level(arch.unitName(block, name)));
                }
            }
        }
        return k.toString();
    }

    /** Tokens of the minibatch's batches (entries shorter than 2 tokens are not run). */
    static long tokens(List<int[]> batches, int[] lengths) {
        long tokens = 0;
        for (int[] batch : batches) {
            tokens += (long) batch.length * lengths[batch[0]];
        }
        return tokens;
    }

    /** The block-tokens one candidate runs alone on {@code tokens} tokens: half a block per half it does not drop. */
    public static double aloneBlockTokens(CandidateSpec spec, int blocks, long tokens) {
        double run = 0;
        for (int b = 0; b < blocks; b++) {
            run += (spec.skipsAttention(b) ? 0 : 0.5) + (spec.skipsMlp(b) ? 0 : 0.5);
        }
        return run * tokens;
    }
}
