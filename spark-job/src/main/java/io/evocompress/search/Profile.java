package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.HashMap;
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
        Map<String, Integer> index = new HashMap<>();
        for (int u = 0; u < domain.units(); u++) {
            index.put(domain.unitName(u), u);
        }
        int[] levels = new int[domain.units()];
        boolean[] seen = new boolean[domain.units()];
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.lastIndexOf(':');
            Integer unit = colon < 0 ? null : index.get(line.substring(0, colon).strip());
            if (unit == null) {
                throw new EvocompressException("profile line " + (i + 1) + " '" + line + "' does not name a unit of " + domain
                    + ": expected 'module: level' with a module such as " + domain.unitName(0));
            }
            if (seen[unit]) {
                throw new EvocompressException("profile line " + (i + 1) + " repeats module " + domain.unitName(unit));
            }
            try {
                levels[unit] = Integer.parseInt(line.substring(colon + 1).strip());
            } catch (NumberFormatException e) {
                throw new EvocompressException("profile line " + (i + 1) + " '" + line + "' has no integer level", e);
            }
            seen[unit] = true;
        }
        for (int u = 0; u < seen.length; u++) {
            if (!seen[u]) {
                throw new EvocompressException("profile has no line for module " + domain.unitName(u));
            }
        }
        Genome genome = new Genome(levels);
        domain.checkBudget(genome, "profile");
        return genome;
    }
}
