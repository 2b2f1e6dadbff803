//! Parsing and hashing against the real captured store responses in tests/fixtures (copies of
//! the project's shared/fixtures; provenance in tests/fixtures/SOURCES.md).

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture is readable")
}

/// The list fixtures with their product counts from SOURCES.md.
const LIST_FIXTURES: &[(&str, usize)] = &[
    ("localboxes-shopify__products.json", 17),
    ("kiids-kingdom_chatty__shopify_products.json", 250),
    (
        "annie-thompson_Shopify-To-Square__products_page_1.json",
        184,
    ),
    ("coros-colombia_corosBot__products.json", 45),
    ("shopify-toolkit-extension__products.json", 30),
];

fn with_updated_at(body: &[u8], stamp: &str) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(body).unwrap();
    for product in value["products"].as_array_mut().unwrap() {
        product["updated_at"] = stamp.into();
        for variant in product["variants"].as_array_mut().unwrap() {
            variant["updated_at"] = stamp.into();
        }
    }
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn every_list_fixture_parses_completely() {
    for (name, count) in LIST_FIXTURES {
        let products = parse_products_page(&fixture(name)).unwrap().products;
        assert_eq!(products.len(), *count, "{name}");
        assert!(products.iter().all(|p| !p.product.variants.is_empty()));
    }
}

#[test]
fn bare_collection_array_is_rejected_but_wrapped_parses() {
    let body = fixture("decathlon-us_Los-Prompteros-Project__collection_hiking-boots.json");
    assert!(matches!(
        parse_products_page(&body),
        Err(ParseError::BadJson(_))
    ));
    let mut wrapped = b"{\"products\":".to_vec();
    wrapped.extend_from_slice(&body);
    wrapped.push(b'}');
    let products = parse_products_page(&wrapped).unwrap().products;
    assert_eq!(products.len(), 12);
    let variants: usize = products.iter().map(|p| p.product.variants.len()).sum();
    assert_eq!(variants, 99);
}

#[test]
fn volatile_updated_at_does_not_change_the_hash() {
    for (name, _) in LIST_FIXTURES {
        let body = fixture(name);
        let a = parse_products_page(&with_updated_at(&body, "2026-01-01T00:00:00-05:00"))
            .unwrap()
            .products;
        let b = parse_products_page(&with_updated_at(&body, "2026-11-28T22:00:00+01:00"))
            .unwrap()
            .products;
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                x.content_hash, y.content_hash,
                "{name} {}",
                x.product.handle
            );
            assert_ne!(x.raw_json, y.raw_json);
        }
    }
}

#[test]
fn a_real_price_change_changes_the_hash() {
    let body = fixture("shopify-toolkit-extension__products.json");
    let before = parse_products_page(&body).unwrap().products;
    let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    value["products"][3]["variants"][0]["price"] = "1.23".into();
    let after = parse_products_page(&serde_json::to_vec(&value).unwrap())
        .unwrap()
        .products;
    for (index, (x, y)) in before.iter().zip(&after).enumerate() {
        assert_eq!(
            x.content_hash == y.content_hash,
            index != 3,
            "product {index}"
        );
    }
}

#[test]
fn compare_at_none_forms_are_equivalent() {
    let body = fixture("shopify-toolkit-extension__products.json");
    let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let base = parse_products_page(&body).unwrap().products[0]
        .content_hash
        .clone();
    for none in [
        serde_json::Value::Null,
        "".into(),
        "0.00".into(),
        "0".into(),
    ] {
        value["products"][0]["variants"][0]["compare_at_price"] = none;
        let page = parse_products_page(&serde_json::to_vec(&value).unwrap())
            .unwrap()
            .products;
        assert_eq!(page[0].content_hash, base);
        assert_eq!(page[0].product.variants[0].compare_at_price_cents, None);
    }
}

#[test]
fn list_and_single_shape_of_the_same_product_hash_the_same() {
    let list = parse_products_page(&fixture("localboxes-shopify__products.json"))
        .unwrap()
        .products;
    let single = parse_single_product(&fixture("localboxes-shopify__product.json"))
        .unwrap()
        .unwrap();
    let same = list
        .iter()
        .find(|p| p.product.handle == single.product.handle)
        .expect("the single capture's product is in the list capture");
    assert_eq!(single.product.variants[0].available, Some(true));
    assert_eq!(same.content_hash, single.content_hash);
}

#[test]
fn the_single_shape_without_availability_hashes_like_the_list_shape() {
    let list = parse_products_page(&fixture("localboxes-shopify__products.json"))
        .unwrap()
        .products;
    let mut single: serde_json::Value =
        serde_json::from_slice(&fixture("localboxes-shopify__product.json")).unwrap();
    for variant in single["product"]["variants"].as_array_mut().unwrap() {
        let variant = variant.as_object_mut().unwrap();
        for key in [
            "inventory_quantity",
            "inventory_policy",
            "inventory_management",
        ] {
            variant.remove(key);
        }
    }
    let single = parse_single_product(&serde_json::to_vec(&single).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(single.product.variants[0].available, None);
    let same = list
        .iter()
        .find(|p| p.product.handle == single.product.handle)
        .unwrap();
    assert_eq!(same.content_hash, single.content_hash);
    // Availability is compared apart: stated against stated only.
    let stated: Vec<_> = same
        .product
        .variants
        .iter()
        .map(|v| (v.id, v.available))
        .collect();
    assert_eq!(single.compare_availability(&stated), AvailabilityNews::Same);
    let flipped: Vec<_> = stated.iter().map(|(id, a)| (*id, a.map(|a| !a))).collect();
    assert_eq!(
        same.compare_availability(&flipped),
        AvailabilityNews::Changed
    );
    let unknown: Vec<_> = stated.iter().map(|(id, _)| (*id, None)).collect();
    assert_eq!(
        same.compare_availability(&unknown),
        AvailabilityNews::Filled
    );
}

#[test]
fn prices_keep_the_exact_string_and_exact_cents() {
    let products = parse_products_page(&fixture("coros-colombia_corosBot__products.json"))
        .unwrap()
        .products;
    let variant = &products[0].product.variants[0];
    assert!(variant.price.contains('.'), "{}", variant.price);
    assert_eq!(
        Money::parse(&variant.price).unwrap().cents(),
        Some(variant.price_cents)
    );
    assert!(products
        .iter()
        .flat_map(|p| &p.product.variants)
        .any(|v| v.price == "1099000.00" && v.price_cents == 109_900_000));
}

#[test]
fn an_unusable_product_is_set_aside_naming_it_and_the_rest_of_the_page_is_parsed() {
    let body = br#"{"products":[{"title":"T","handle":"no-id","variants":[]},
        {"id":"42","title":"S","handle":"string-id","variants":[{"id":1,"price":"1"}]},
        {"id":7,"title":"G","handle":"good","variants":[{"id":2,"price":"1"}]}]}"#;
    let page = parse_products_page(body).unwrap();
    assert_eq!(page.entries(), 3);
    assert_eq!(page.products.len(), 1);
    assert_eq!(page.products[0].product.id, 7);
    let (no_id, string_id) = (&page.unusable[0], &page.unusable[1]);
    assert_eq!(no_id.id, None);
    assert!(
        no_id.reason.contains("#0") && no_id.reason.contains("no-id"),
        "{}",
        no_id.reason
    );
    assert_eq!(string_id.id, Some(42));
    assert!(string_id.reason.contains("id 42"), "{}", string_id.reason);
    assert!(string_id.raw_json.starts_with(r#"{"id":"42""#));
}

#[test]
fn hostile_bodies_are_classified_errors() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<Vec<u8>> = vec![
        b"<html>hi</html>".to_vec(),
        b"{\"products\":[{\"id\":1,".to_vec(),
        b"{\"products\":[{\"id\":1,\"title\":\"\xff\xfe\"}]}".to_vec(),
        deep.into_bytes(),
    ];
    for body in cases {
        assert!(parse_products_page(&body).is_err());
    }
}

#[test]
fn absurd_nesting_is_unusable_without_overflowing_the_stack() {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let inside = format!(r#"{{"products":[{{"id":1,"handle":"h","title":"t","x":{deep}}}]}}"#);
    let outside = format!(r#"{{"products":[{deep}]}}"#);
    for (body, id) in [(inside, Some(1)), (outside, None)] {
        let page = parse_products_page(body.as_bytes()).unwrap();
        assert_eq!((page.products.len(), page.unusable.len()), (0, 1));
        assert_eq!(page.unusable[0].id, id);
    }
    let single = format!(r#"{{"product":{deep}}}"#);
    assert!(matches!(
        parse_single_product(single.as_bytes()),
        Ok(Err(_))
    ));
}

#[test]
fn one_pass_page_parse_matches_the_two_pass_parse() {
    for (name, _) in LIST_FIXTURES {
        let compact = fixture(name);
        let value: serde_json::Value = serde_json::from_slice(&compact).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        for body in [compact, pretty] {
            let one_pass = wire::split_products_page(&body, |raw, _| Some(raw.len()));
            assert!(
                one_pass.is_some(),
                "{name}: one-pass parse refused the page"
            );
            let fast = parse_products_page(&body).unwrap().products;
            let checked = parse_products_page_checked(&body).unwrap().products;
            assert_eq!(fast.len(), checked.len(), "{name}");
            for (x, y) in fast.iter().zip(&checked) {
                assert_eq!(x.raw_json, y.raw_json, "{name}");
                assert_eq!(x.content_hash, y.content_hash, "{name}");
                assert_eq!(x.product.id, y.product.id, "{name}");
            }
        }
    }
}

#[test]
fn pages_of_another_shape_take_the_checked_parse() {
    let empty = br#" { "products" : [ ] } "#;
    assert_eq!(parse_products_page(empty).unwrap().products.len(), 0);
    let other_key = br#"{"products":[],"extra":1}"#;
    assert!(wire::split_products_page(other_key, |_, _| Some(())).is_none());
    assert_eq!(parse_products_page(other_key).unwrap().products.len(), 0);
    let trailing = br#"{"products":[]} x"#;
    assert!(parse_products_page(trailing).is_err());
}

#[test]
fn raw_digests_ignore_updated_at_and_find_every_id_on_real_pages() {
    for (name, count) in LIST_FIXTURES {
        let body = fixture(name);
        let entries = digest_products_page(&body).unwrap();
        let parsed = parse_products_page(&body).unwrap().products;
        assert_eq!(entries.len(), *count, "{name}");
        for (entry, product) in entries.iter().zip(&parsed) {
            assert_eq!(entry.digest.id, Some(product.product.id), "{name}");
            assert_eq!(entry.digest.hash, product.raw_hash, "{name}");
            assert_eq!(&body[entry.range.clone()], product.raw_json.as_bytes());
        }
        let a = digest_products_page(&with_updated_at(&body, "2026-01-01T00:00:00-05:00"));
        let b = digest_products_page(&with_updated_at(&body, "2026-11-28T22:00:00+01:00"));
        let hashes = |e: Vec<RawEntry>| e.iter().map(|e| e.digest).collect::<Vec<_>>();
        assert_eq!(hashes(a.unwrap()), hashes(b.unwrap()), "{name}");
    }
}

#[test]
fn a_different_raw_text_of_the_same_content_keeps_its_content_hash() {
    // Pretty-printed (and re-serialized) text: every raw hash differs, no content hash does,
    // so the writer, which compares content hashes when raw hashes differ, sees no change.
    for (name, _) in LIST_FIXTURES {
        let body = fixture(name);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let (before, after) = (
            parse_products_page(&body).unwrap().products,
            parse_products_page(&pretty).unwrap().products,
        );
        for (b, a) in before.iter().zip(&after) {
            assert_ne!(b.raw_hash, a.raw_hash, "{name}");
            assert_eq!(b.content_hash, a.content_hash, "{name}");
        }
    }
}

#[test]
fn a_page_parsed_in_part_keeps_its_order_and_the_rest_unparsed() {
    let body = fixture("kiids-kingdom_chatty__shopify_products.json");
    let entries = digest_products_page(&body).unwrap();
    let whole = parse_products_page(&body).unwrap().products;
    let part = parse_page_entries(&body, &entries, |i| i % 3 == 0).unwrap();
    for (i, (p, w)) in part.iter().zip(&whole).enumerate() {
        match p {
            Some(Err(u)) => panic!("product {i} unusable: {}", u.reason),
            Some(Ok(p)) => {
                assert_eq!(i % 3, 0);
                assert_eq!(p.content_hash, w.content_hash);
                assert_eq!(p.raw_json, w.raw_json);
            }
            None => assert_ne!(i % 3, 0),
        }
    }
}

#[test]
fn a_page_parsed_in_part_or_whole_keeps_its_unusable_products_in_place() {
    let body = br#"{"products":[
        {"id":1,"title":"a","handle":"a","variants":[{"id":11,"price":"1.00"}]},
        {"id":2,"title":"b","handle":"b","variants":[{"id":21,"price":"1.00"}],"images":null},
        {"id":3,"title":"c","handle":"c","variants":[{"id":31,"price":"1.00"}]}]}"#;
    let entries = digest_products_page(body).unwrap();
    assert_eq!(entries.len(), 3);
    let cases: [fn(usize) -> bool; 2] = [|_| true, |i| i != 0];
    for wanted in cases {
        let parsed = parse_page_entries(body, &entries, wanted).unwrap();
        assert_eq!(parsed.len(), 3);
        match &parsed[1] {
            Some(Err(u)) => assert_eq!(u.id, Some(2)),
            other => panic!("product 2 should be unusable: {other:?}"),
        }
        assert!(matches!(&parsed[2], Some(Ok(p)) if p.product.id == 3));
        assert_eq!(parsed[0].is_some(), wanted(0));
    }
}

#[test]
fn tags_as_sent_keep_the_store_order_in_both_shapes() {
    let list = r#"{"id": 1, "tags": ["zebra", "Apple", "mango"], "variants": []}"#;
    assert_eq!(tags_as_sent(list).unwrap(), ["zebra", "Apple", "mango"]);
    let single = r#"{"id": 1, "tags": "zebra, Apple ,, mango"}"#;
    assert_eq!(tags_as_sent(single).unwrap(), ["zebra", "Apple", "mango"]);
    assert_eq!(tags_as_sent(r#"{"id": 1}"#).unwrap(), Vec::<String>::new());
    assert!(tags_as_sent("[1]").is_none());
}

#[test]
fn products_their_rows_could_not_hold_are_unusable_naming_why() {
    let page = |variants: &str, options: &str| {
        format!(
            r#"{{"products":[{{"id":1,"title":"T","handle":"h","variants":{variants},
                "options":{options}}}]}}"#
        )
    };
    let cases = [
        (
            page(r#"[{"id":5,"price":"1.00"},{"id":5,"price":"2.00"}]"#, "[]"),
            "variant id 5 appears twice",
        ),
        (
            page(
                r#"[{"id":5,"price":"1.00"}]"#,
                r#"[{"name":"A","position":1},{"name":"B","position":1}]"#,
            ),
            "two options at position 1",
        ),
        (
            page(r#"[{"id":5,"price":"0.001"}]"#, "[]"),
            r#"price "0.001", which hundredths cannot hold exactly"#,
        ),
        (
            page(
                r#"[{"id":5,"price":"1.00","compare_at_price":"2.005"}]"#,
                "[]",
            ),
            r#"compare_at_price "2.005""#,
        ),
        (
            page(r#"[{"id":5,"price":"92233720368547758.08"}]"#, "[]"),
            "hundredths cannot hold exactly",
        ),
    ];
    for (body, why) in cases {
        let parsed = parse_products_page(body.as_bytes()).unwrap();
        assert_eq!(parsed.products.len(), 0, "{body}");
        assert!(
            parsed.unusable[0].reason.contains(why),
            "{}",
            parsed.unusable[0].reason
        );
    }
    let fine = page(
        r#"[{"id":5,"price":"1.500"},{"id":6,"price":"2"}]"#,
        r#"[{"name":"A"},{"name":"B"}]"#,
    );
    let parsed = parse_products_page(fine.as_bytes()).unwrap();
    assert_eq!(parsed.products[0].product.variants[0].price_cents, 150);
}

/// The parse of a digested page takes each product's raw hash from its digest: the same hash
/// the whole-page parse and the product-by-product parse compute from the product's text.
#[test]
fn a_digested_page_parses_with_the_raw_hashes_of_its_digests() {
    for (name, _) in LIST_FIXTURES {
        let body = fixture(name);
        let entries = digest_products_page(&body).unwrap();
        let whole = parse_page_entries(&body, &entries, |_| true).unwrap();
        let one_by_one = parse_page_entries(&body, &entries, |i| i % 2 == 0).unwrap();
        for (i, entry) in entries.iter().enumerate() {
            let product = whole[i].as_ref().unwrap().as_ref().unwrap();
            assert_eq!(product.raw_hash, entry.digest.hash, "{name} #{i}");
            assert_eq!(
                product.raw_hash,
                raw_digest(product.raw_json.as_bytes()).hash,
                "{name} #{i}"
            );
            if let Some(Ok(single)) = &one_by_one[i] {
                assert_eq!(single.raw_hash, entry.digest.hash, "{name} #{i}");
            }
        }
    }
}
