package io.evocompress;

/**
 * An error the user can act on: the message says what was wrong, where (a file, a setting), and
 * what to do. Thrown for bad input; programming errors stay ordinary runtime exceptions.
 */
public class EvocompressException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EvocompressException(String message) {
        super(message);
    }

    public EvocompressException(String message, Throwable cause) {
        super(message, cause);
    }
}
