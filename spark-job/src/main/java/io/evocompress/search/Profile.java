package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.Map;

/**
 * A genome as text, one {@code module: level} line per unit in unit order: for sparsity the layer's
 * database level, for quantization its bit width, for depth the block half (or block) with 1 dropped
 * and 0 kept. {@link #parse} reads it back for a domain and checks it against the domain's budget.
 */
public final class Profile {
    private Profile() {
    }

    public static String format(SearchDomain domain, Genome genome) {
        if (genome.size() != domain.units()) {
            throw new IllegalArgumentException("genome has " + genome.size() + " levels, the domain " + domain.units() + " units");
        }
        StringBuilder out = new StringBuilder();
        for (int u = 0; u < genome.size(); u++) {
            out.append(domain.unitName(u)).append(": ").append(genome.level(u)).append('\n');
        }
        return out.toString();
    }

    /** Reads {@code module: level} lines (blank lines and {@code #} comments skipped); every unit exactly once. */
    public static Genome parse(SearchDomain domain, String text) {
        Genome g = genome(domain, text, "profile", "unit", domain.toString());
        domain.checkBudget(g, "profile");
        return g;
    }

    /** The genome of {@code module: level} lines naming every unit of {@code domain} once (budget not checked). */
    static Genome genome(SearchDomain domain, String text, String where, String noun, String owner) {
        Map<String, int[]> legal = new java.util.LinkedHashMap<>();
        for (int u = 0; u < domain.units(); u++) {
            legal.put(domain.unitName(u), domain.levels(u));
        }
        Map<String, Integer> levels = levels(text, where, legal, noun, owner);
        int[] genome = new int[domain.units()];
        for (int u = 0; u < genome.length; u++) {
            genome[u] = levels.get(domain.unitName(u));
        }
        return new Genome(genome);
    }

    /**
     * Reads {@code <module>: <level>} lines (blank lines and {@code #} comments skipped): every module
     * of {@code legal} exactly once, each with one of its legal levels; errors name the line, calling the
     * modules {@code noun}s of {@code owner}. Shared by search profiles and EvoPress profile files.
     */
    static Map<String, Integer> levels(String text, String where, Map<String, int[]> legal, String noun, String owner) {
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        String example = legal.isEmpty() ? "model.layers.0.mlp.down_proj" : legal.keySet().iterator().next();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.lastIndexOf(':');
            String module = colon < 0 ? null : line.substring(0, colon).strip();
            if (module == null || !legal.containsKey(module)) {
                throw new EvocompressException(where + " line " + (i + 1) + " '" + line + "' does not name a " + noun + " of "
                    + owner + " (expected '<module>: <level>' with a module such as " + example + ").");
            }
            if (out.containsKey(module)) {
                throw new EvocompressException(where + " line " + (i + 1) + " repeats module " + module + ".");
            }
            int level;
            try {
                level = Integer.parseInt(line.substring(colon + 1).strip());
            } catch (NumberFormatException e) {
                throw new EvocompressException(where + " line " + (i + 1) + " '" + line + "' has no integer level.");
            }
            if (java.util.Arrays.stream(legal.get(module)).noneMatch(l -> l == level)) {
                throw new EvocompressException(where + " line " + (i + 1) + " '" + line + "': level " + level
                    + " is not one the database has for " + module + " (it has "
                    + java.util.Arrays.toString(legal.get(module)) + ").");
            }
            out.put(module, level);
        }
        for (String module : legal.keySet()) {
            if (!out.containsKey(module)) {
                throw new EvocompressException(where + " has no line for module " + module + ".");
            }
        }
        return out;
    }
}
