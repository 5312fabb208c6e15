package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.List;

/**
 * One stage of multi-step selection: score every remaining candidate on one fresh minibatch of
 * {@code tokens} tokens and keep the {@code survivors} lowest. Written {@code survivors@tokens}.
 */
public record SelectionStage(int survivors, long tokens) {
    public SelectionStage {
        if (survivors < 1) {
            throw new EvocompressException("a selection stage must keep at least 1 survivor, but kept " + survivors);
        }
        if (tokens < 1) {
            throw new EvocompressException("a selection stage must score at least 1 token, but scored " + tokens);
        }
    }

    /** Parses {@code 8@2048}. */
    public static SelectionStage parse(String text) {
        String[] parts = text.strip().split("@");
        try {
            if (parts.length == 2) {
                return new SelectionStage(Integer.parseInt(parts[0].strip()), Long.parseLong(parts[1].strip()));
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new EvocompressException("selection stage '" + text + "' is not survivors@tokens, e.g. 8@2048");
    }

    /** Parses {@code 8@2048,2@16384,1@65536}. */
    public static List<SelectionStage> parseList(String text) {
        List<SelectionStage> out = new ArrayList<>();
        for (String part : text.split(",")) {
            out.add(parse(part));
        }
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return survivors + "@" + tokens;
    }
}
