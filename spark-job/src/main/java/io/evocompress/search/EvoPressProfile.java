package io.evocompress.search;

import io.evocompress.EvocompressException;

/**
 * A genome in the EvoPress reference code's own profile format, {@code \n} separated: for sparsity
 * {@code <module>: <level>} with the database's integer level (sparsity = target + level * Delta /
 * numel), for quantization {@code <module>: <bits>}, for depth one line per block naming what is
 * dropped: {@code none}, {@code attn}, {@code mlp} or {@code attn+mlp}. {@link #parse} reads it back for
 * a domain; a line naming an unknown module or a level the domain does not have fails naming the line.
 */
public final class EvoPressProfile {
    public static final String FILE = "evopress-profile.txt";

    private EvoPressProfile() {
    }

    public static String format(SearchDomain domain, Genome genome) {
        if (!(domain instanceof DepthDomain d)) {
            return Profile.format(domain, genome);
        }
        StringBuilder out = new StringBuilder();
        for (int b = 0; b < d.blocks(); b++) {
            boolean attn = d.attentionDropped(genome, b);
            boolean mlp = d.mlpDropped(genome, b);
            out.append(attn && mlp ? "attn+mlp" : attn ? "attn" : mlp ? "mlp" : "none").append('\n');
        }
        return out.toString();
    }

    /** Reads a profile for {@code domain}; {@code where} names the file in errors. */
    public static Genome parse(SearchDomain domain, String text, String where) {
        Genome genome = domain instanceof DepthDomain d ? parseDepth(d, text, where) : parseLevels(domain, text, where);
        if (!domain.withinBudget(genome)) {
            throw new EvocompressException(where + " is a legal profile but not within the budget of " + domain
                + ": it was made for another target.");
        }
        return genome;
    }

    private static Genome parseLevels(SearchDomain domain, String text, String where) {
        return Profile.genome(domain, text, where, "module", "the database");
    }

    /**
     * Reads {@code <module>: <level>} lines (blank lines and {@code #} comments skipped): every module
     * of {@code legal} exactly once, each with one of its legal levels; errors name the line.
     */
    public static java.util.Map<String, Integer> levels(String text, String where, java.util.Map<String, int[]> legal) {
        return Profile.levels(text, where, legal, "module", "the database");
    }

    private static Genome parseDepth(DepthDomain d, String text, String where) {
        boolean[][] flags = depthFlags(d.blocks(), d.isWholeBlocks(), text, where);
        int[] levels = new int[d.units()];
        for (int b = 0; b < d.blocks(); b++) {
            levels[b] = flags[0][b] ? 1 : 0;
            if (!d.isWholeBlocks()) {
                levels[d.blocks() + b] = flags[1][b] ? 1 : 0;
            }
        }
        return new Genome(levels);
    }

    /**
     * Reads one {@code none | attn | mlp | attn+mlp} line per block: {attention dropped, MLP dropped}
     * per block; with {@code wholeBlocks} only none and attn+mlp are legal. Errors name the line.
     */
    public static boolean[][] depthFlags(int blocks, boolean wholeBlocks, String text, String where) {
        boolean[][] flags = new boolean[2][blocks];
        int block = 0;
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            boolean attn;
            boolean mlp;
            switch (line) {
                case "none" -> { attn = false; mlp = false; }
                case "attn" -> { attn = true; mlp = false; }
                case "mlp" -> { attn = false; mlp = true; }
                case "attn+mlp" -> { attn = true; mlp = true; }
                default -> throw new EvocompressException(where + " line " + (i + 1) + " '" + line
                    + "' is not none, attn, mlp or attn+mlp (one line per block).");
            }
            if (block >= blocks) {
                throw new EvocompressException(where + " line " + (i + 1) + " is block " + block + ", but the model has "
                    + blocks + " blocks.");
            }
            if (wholeBlocks && attn != mlp) {
                throw new EvocompressException(where + " line " + (i + 1) + " '" + line + "' drops half a block, but "
                    + "this search drops whole blocks (none or attn+mlp).");
            }
            flags[0][block] = attn;
            flags[1][block] = mlp;
            block++;
        }
        if (block != blocks) {
            throw new EvocompressException(where + " has " + block + " block lines, but the model has " + blocks + " blocks.");
        }
        return flags;
    }
}
