package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * EvoPress's elitist (1 + lambda) search (ALGORITHMS.md section 3). Immutable: one generation is the
 * function {@link #evolve}, state in, state out, with every random choice seeded from (seed,
 * generation, purpose), so a run resumed from any saved state ends exactly as an uninterrupted one.
 * Per generation: {@link Mutation} makes the offspring, {@link MultiStepSelection} scores them (the
 * parent re-entering before the last stage), and the winner becomes the parent with its fitness on
 * the last stage's minibatch. Generation 0 starts from the domain's fixed start (or the best of random
 * genomes), or with {@link #withStarts} from the best of it and the given candidates on the same
 * minibatch ({@code search.init: best}).
 */
public final class EvolutionarySearch {
    private final SearchDomain domain;
    private final SearchPreset preset;
    private final CalibrationPool pool;
    private final long seed;
    private final Mutation mutation;
    private final MultiStepSelection selection;
    private final List<StartCandidate> starts;
    private final SelectionCheck check;

    /** Validates the preset against the pool (stage tokens, survivors vs offspring) here, before any work. */
    public EvolutionarySearch(SearchDomain domain, SearchPreset preset, CalibrationPool pool, long seed) {
        this(domain, preset, pool, seed, List.of(), null);
    }

    private EvolutionarySearch(SearchDomain domain, SearchPreset preset, CalibrationPool pool, long seed,
                               List<StartCandidate> starts, SelectionCheck check) {
        if (check != null && !check.stages().equals(preset.stages())) {
            throw new IllegalArgumentException("selection check for stages " + check.stages() + ", the search has " + preset.stages());
        }
        this.check = check;
        for (StartCandidate c : starts) {
            domain.checkBudget(c.genome(), "The starting genome '" + c.name() + "'");
        }
        this.starts = List.copyOf(starts);
        this.domain = domain;
        this.preset = preset;
        this.pool = pool;
        this.seed = seed;
        this.mutation = new Mutation(domain);
        this.selection = new MultiStepSelection(preset.stages(), pool);
        selection.checkOffspring(preset.offspring());
        pool.check(preset.initialTokens(), "the initial genome's minibatch");
    }

    /**
     * The same search, starting from whichever of the domain's own start and these candidates scores
     * best on the initial minibatch (ties: the domain's start, then the earlier candidate).
     */
    public EvolutionarySearch withStarts(List<StartCandidate> candidates) {
        return new EvolutionarySearch(domain, preset, pool, seed, candidates, check);
    }

    /**
     * The same search, with every stage's choice also observed by {@code check} ({@code search.selection-check});
     * the result is the same.
     */
    public EvolutionarySearch withSelectionCheck(SelectionCheck selectionCheck) {
        return new EvolutionarySearch(domain, preset, pool, seed, starts, selectionCheck);
    }

    public List<StartCandidate> starts() {
        return starts;
    }

    /** Candidate scores generation 0 takes. */
    public int initialEvaluations() {
        int own = domain.fixedStart().map(g -> starts.stream().anyMatch(c -> c.genome().equals(g)) ? 0 : 1)
            .orElse(preset.initialCandidates());
        return own + starts.size();
    }

    public SearchDomain domain() {
        return domain;
    }

    public SearchPreset preset() {
        return preset;
    }

    /** Runs without a checkpoint or progress reports. */
    public SearchResult run(CandidateEvaluator evaluator) {
        return run(evaluator, SearchCheckpointStore.NONE, SearchProgress.NONE);
    }

    /**
     * Runs to {@code preset.generations()}, continuing from the store's state if it has one, saving the
     * state after the initial genome and after every generation.
     */
    public SearchResult run(CandidateEvaluator evaluator, SearchCheckpointStore store, SearchProgress progress) {
        SearchState state = store.load().map(this::checkResumable).orElse(null);
        long started = System.nanoTime();
        long evaluations = 0;
        int generationsRun = 0;
        if (state == null) {
            state = initialize(evaluator, progress);
            evaluations += initialEvaluations();
            store.save(state);
            report(progress, state, evaluations, started, 0);
        }
        while (state.generation() < preset.generations()) {
            Generation g = evolve(state, evaluator);
            state = g.state();
            evaluations += g.evaluations();
            generationsRun++;
            store.save(state);
            report(progress, state, evaluations, started, generationsRun);
        }
        return SearchResult.of(state);
    }

    /** Generation 0: the domain's fixed start, or the best of preset.initialCandidates() random genomes. */
    public SearchState initialize(CandidateEvaluator evaluator) {
        return initialize(evaluator, SearchProgress.NONE);
    }

    /** Generation 0, telling {@code progress} how every start candidate scored when there are any. */
    public SearchState initialize(CandidateEvaluator evaluator, SearchProgress progress) {
        RandomGenerator random = SearchRandom.of(seed, 0, SearchRandom.Purpose.INITIAL, 0);
        Minibatch batch = pool.draw(preset.initialTokens(), random);
        List<StartCandidate> scored = new ArrayList<>();
        domain.fixedStart().filter(g -> starts.stream().noneMatch(c -> c.genome().equals(g)))
            .ifPresent(g -> scored.add(new StartCandidate("domain start", g)));
        scored.addAll(starts);
        ScoredGenome start = null;
        double[] fitness = new double[0];
        if (!scored.isEmpty()) {
            fitness = evaluator.evaluate(scored.stream().map(StartCandidate::genome).toList(), batch);
            for (int i = 0; i < fitness.length; i++) {
                if (start == null || fitness[i] < start.fitness()) {
                    start = new ScoredGenome(scored.get(i).genome(), fitness[i]);
                }
            }
        }
        if (domain.fixedStart().isEmpty()) {
            ScoredGenome random0 = new RandomSearchBaseline(domain, preset.initialCandidates()).best(evaluator, batch, random);
            if (start == null || random0.fitness() < start.fitness()) {
                start = random0;
            }
            scored.add(0, new StartCandidate("best of " + preset.initialCandidates() + " random", random0.genome()));
            double[] withRandom = new double[fitness.length + 1];
            withRandom[0] = random0.fitness();
            System.arraycopy(fitness, 0, withRandom, 1, fitness.length);
            fitness = withRandom;
        }
        if (!starts.isEmpty()) {
            progress.onStart(scored, fitness, batch.tokens());
        }
        return new SearchState(seed, 0, start.genome(), start.fitness(), List.of(new GenerationFitness(0, start.fitness(), start.genome())));
    }

    /** One generation's result and how many candidate scores it took. */
    public record Generation(SearchState state, int evaluations) {
    }

    /** Generation {@code state.generation() + 1}. */
    public Generation evolve(SearchState state, CandidateEvaluator evaluator) {
        int generation = state.generation() + 1;
        RandomGenerator random = SearchRandom.of(seed, generation, SearchRandom.Purpose.OFFSPRING, 0);
        List<Genome> offspring = mutation.offspring(state.parent(), preset.offspring(), random);
        MultiStepSelection.Outcome outcome = selection.select(state.parent(), offspring, evaluator, seed, generation, check);
        return new Generation(state.next(outcome.winner(), outcome.fitness()), outcome.evaluations());
    }

    private SearchState checkResumable(SearchState state) {
        if (state.seed() != seed) {
            throw new EvocompressException("the search checkpoint was written by a run with seed " + state.seed() + ", this run has seed "
                + seed + ": use the same seed to resume, or another checkpoint path to start afresh");
        }
        if (state.history().size() != state.generation() + 1) {
            throw new EvocompressException("the search checkpoint at generation " + state.generation() + " has "
                + state.history().size() + " history entries instead of " + (state.generation() + 1) + ": delete it to start afresh");
        }
        domain.checkBudget(state.parent(), "the search checkpoint's parent");
        return state;
    }

    private void report(SearchProgress progress, SearchState state, long evaluations, long started, int generationsRun) {
        double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
        int left = preset.generations() - state.generation();
        double secondsLeft = generationsRun == 0 ? Double.NaN : seconds / generationsRun * left;
        progress.onGeneration(new SearchProgress.Report(state.generation(), preset.generations(), state.parentFitness(),
            evaluations / seconds, secondsLeft));
    }
}
