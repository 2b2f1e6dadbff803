-- Version 13 (from 12): new products enter the search index once per write, not by a trigger
-- per row (issue 24). The AFTER INSERT trigger made every product insert a statement that
-- writes the FTS5 table, and FTS5 flushes its pending terms to disk at each such statement's
-- savepoint: 7% of a first sync's CPU, plus the statement journal and the generated
-- body_html column the trigger's NEW row computed. The writer now indexes the products a write
-- added in one INSERT ... SELECT at its end (store/search_index.rs), in the same transaction.
-- Renames (the AFTER UPDATE OF trigger) and removals keep their triggers: they are rare.

DROP TRIGGER product_search_added;
