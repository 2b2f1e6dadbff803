//! Reading Shopify sitemaps with a streaming XML reader: the index (/sitemap.xml) gives the
//! product sitemaps (`sitemap_products_N.xml?from=&to=`), each product sitemap gives product
//! handles one `<url><loc>` at a time. Locations are returned as the files give them: this
//! module builds no request URL (the caller puts a product sitemap's path and query on the
//! store's own base, never visiting the host a location names). Nothing here does HTTP or
//! touches the database.

use quick_xml::events::Event;
use quick_xml::Reader;
use url::Url;

use super::error::ParseError;

/// The locations of the product sitemaps listed in a sitemap index, in index order, as the
/// index gives them (whatever host they name).
pub fn product_sitemaps(index: &[u8]) -> Result<Vec<Url>, ParseError> {
    let mut files = Vec::new();
    for loc in Locs::new(index) {
        let loc = loc?;
        let Ok(url) = Url::parse(&loc) else { continue };
        let is_products = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .is_some_and(|name| name.starts_with("sitemap_products_") && name.ends_with(".xml"));
        if is_products {
            files.push(url);
        }
    }
    Ok(files)
}

/// The product handles of a product sitemap, in file order, read lazily. Locations that are not
/// `/products/{handle}` (the store root that opens the first file, pages) are skipped.
pub fn product_handles(sitemap: &[u8]) -> impl Iterator<Item = Result<String, ParseError>> + '_ {
    Locs::new(sitemap).filter_map(|loc| match loc {
        Ok(loc) => product_handle(&loc).map(Ok),
        Err(e) => Some(Err(e)),
    })
}

/// The handle of a product URL: `http://host/products/{handle}` (percent-decoded).
fn product_handle(loc: &str) -> Option<String> {
    let url = Url::parse(loc).ok()?;
    let mut segments = url.path_segments()?;
    match (segments.next(), segments.next(), segments.next()) {
        (Some("products"), Some(handle), None) if !handle.is_empty() => percent_decode(handle),
        _ => None,
    }
}

/// Decodes %XX escapes; None when the result is not UTF-8 or an escape is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let well_formed = text.split('%').skip(1).all(|rest| {
        rest.get(..2)
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if !well_formed {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?;
    Some(decoded.into_owned())
}

/// The text of every `<loc>` element (not `<image:loc>`), unescaped and trimmed.
struct Locs<'a> {
    reader: Reader<&'a [u8]>,
    failed: bool,
}

impl<'a> Locs<'a> {
    fn new(body: &'a [u8]) -> Locs<'a> {
        Locs {
            reader: Reader::from_reader(body),
            failed: false,
        }
    }

    fn read_loc(&mut self) -> Result<String, ParseError> {
        let mut escaped = String::new();
        loop {
            match self.reader.read_event().map_err(bad_xml)? {
                Event::Text(t) => escaped.push_str(&t.decode().map_err(bad_xml)?),
                Event::CData(c) => {
                    let text = c.decode().map_err(bad_xml)?;
                    escaped.push_str(&quick_xml::escape::escape(text.as_ref()));
                }
                Event::GeneralRef(r) => {
                    escaped.push('&');
                    escaped.push_str(&r.decode().map_err(bad_xml)?);
                    escaped.push(';');
                }
                Event::End(_) => break,
                Event::Eof => return Err(ParseError::BadXml("unclosed <loc>".into())),
                _ => {}
            }
        }
        let text = quick_xml::escape::unescape(&escaped).map_err(bad_xml)?;
        Ok(text.trim().to_string())
    }
}

impl Iterator for Locs<'_> {
    type Item = Result<String, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let item = match self.reader.read_event() {
                Ok(Event::Start(e)) if e.name().as_ref() == b"loc" => self.read_loc(),
                Ok(Event::Eof) => return None,
                Ok(_) => continue,
                Err(e) => Err(bad_xml(e)),
            };
            self.failed = item.is_err();
            return Some(item);
        }
    }
}

fn bad_xml(e: impl std::fmt::Display) -> ParseError {
    ParseError::BadXml(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://shop.example/sitemap_products_1.xml?from=1&amp;to=9</loc></sitemap>
  <sitemap><loc>https://shop.example/sitemap_pages_1.xml</loc></sitemap>
  <sitemap><loc>https://elsewhere.example/sitemap_products_2.xml?from=10&amp;to=20</loc></sitemap>
</sitemapindex>"#;

    const PRODUCTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>http://127.0.0.1:1/</loc><changefreq>daily</changefreq></url>
  <url><loc>http://127.0.0.1:1/products/red-shirt</loc>
    <image:image><image:loc>https://cdn.example/a.jpg?x=1&amp;y=2</image:loc></image:image></url>
  <url><loc> http://127.0.0.1:1/products/caf%C3%A9-cr%C3%A8me </loc></url>
  <url><loc>http://127.0.0.1:1/pages/about-us</loc></url>
  <url><loc><![CDATA[http://127.0.0.1:1/products/tom&jerry]]></loc></url>
</urlset>"#;

    #[test]
    fn index_lists_product_sitemaps_as_it_gives_them() {
        let files = product_sitemaps(INDEX.as_bytes()).unwrap();
        let files: Vec<&str> = files.iter().map(Url::as_str).collect();
        assert_eq!(
            files,
            [
                "https://shop.example/sitemap_products_1.xml?from=1&to=9",
                "https://elsewhere.example/sitemap_products_2.xml?from=10&to=20",
            ]
        );
    }

    #[test]
    fn product_sitemap_yields_handles_and_skips_other_locs() {
        let handles: Vec<String> = product_handles(PRODUCTS.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(handles, ["red-shirt", "café-crème", "tom&jerry"]);
    }

    #[test]
    fn broken_xml_is_an_error_not_a_panic() {
        let broken = b"<urlset><url><loc>http://h/products/a</loc></url><url><loc>http://h/pro";
        let items: Vec<_> = product_handles(broken).collect();
        assert_eq!(items[0].as_deref().ok(), Some("a"));
        assert!(matches!(items.last(), Some(Err(ParseError::BadXml(_)))));
        assert!(product_sitemaps(b"<a></b>").is_err());
    }

    #[test]
    fn malformed_percent_escapes_are_skipped() {
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("%41b").as_deref(), Some("Ab"));
    }
}
