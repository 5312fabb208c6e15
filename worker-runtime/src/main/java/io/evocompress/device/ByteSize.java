package io.evocompress.device;

import io.evocompress.EvocompressException;

import java.util.Locale;

/** A number of bytes as a setting spells it: plain bytes, or with a binary suffix k, m, g or t (KiB ... TiB). */
public final class ByteSize {
    private ByteSize() {
    }

    /**
     * @param setting named in the error (e.g. {@code evaluation.device-memory})
     */
    public static long parse(String text, String setting) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("ib")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
            if (unit > 1) {
                s = s.substring(0, s.length() - 1).trim();
            }
        }
        double value;
        try {
            value = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new EvocompressException(setting + " must be a number of bytes, optionally with a suffix k, m, g or t "
                + "(e.g. 80g), but was '" + text + "'.");
        }
        if (!(value > 0) || value * unit > Long.MAX_VALUE) {
            throw new EvocompressException(setting + " must be a positive number of bytes, but was '" + text + "'.");
        }
        return (long) (value * unit);
    }
}
