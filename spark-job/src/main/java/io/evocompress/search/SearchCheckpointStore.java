package io.evocompress.search;

import java.util.Optional;

/** Where a search saves its state after every generation and finds it again on resume. */
public interface SearchCheckpointStore {
    /** Keeps nothing: every run starts from scratch. */
    SearchCheckpointStore NONE = new SearchCheckpointStore() {
        @Override
        public void save(SearchState state) {
        }

        @Override
        public Optional<SearchState> load() {
            return Optional.empty();
        }
    };

    /** Replaces the saved state; a crash during save leaves the previous state loadable. */
    void save(SearchState state);

    /** The last saved state, if any. */
    Optional<SearchState> load();
}
