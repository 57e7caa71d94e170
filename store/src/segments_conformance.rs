//! The conformance cases of saved segments ([`Store::create_segment`], [`Store::segments_of`],
//! [`Store::delete_segment`], segments deleted with their project), run by
//! [`conformance_tests!`](crate::conformance_tests) with the others.

use crate::conformance::{project, user, Backend, MIN, T0};
use crate::*;

fn filter(op: &str, dimension: &str, values: &[&str]) -> SegmentFilter {
    (
        op.to_owned(),
        dimension.to_owned(),
        values.iter().map(|v| v.to_string()).collect(),
    )
}

fn segment(project: &Project, name: &str, filters: Vec<SegmentFilter>, at: Millis) -> Segment {
    Segment {
        id: SegmentId::new(at),
        project: project.id,
        name: Name::parse(name).unwrap(),
        filters: SegmentFilters::new(filters).unwrap(),
        created_at: at,
    }
}

/// Segments read back as written (every filter, its values in order, non-ASCII text), oldest
/// first per project; deleted only through their own project.
pub async fn segments_are_created_listed_and_deleted(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let (blog, shop) = (project(&ada, "Blog", T0), project(&ada, "Shop", T0));
    s.create_project(&blog).await.unwrap();
    s.create_project(&shop).await.unwrap();
    assert_eq!(s.segments_of(&blog.id).await.unwrap(), vec![]);

    // Written in another order than their creation times; the last two at one time.
    let paid = segment(
        &blog,
        "Paid traffic from Germany",
        vec![
            filter("is", "country", &["DE"]),
            filter("is", "utm_medium", &["cpc", "ppc"]),
        ],
        T0 + 3 * MIN,
    );
    let docs = segment(
        &blog,
        "Docs readers ü",
        vec![
            filter("matches", "page", &["^/docs/(guide|api)\\b"]),
            filter("is_not", "props.plan", &["", "free \"trial\""]),
            filter("is", "goal", &["Signup"]),
        ],
        T0 + MIN,
    );
    let late = segment(&blog, "Mobile", vec![filter("is", "device", &["mobile"])], T0 + 5 * MIN);
    let again = segment(
        &blog,
        "Desktop",
        vec![filter("is", "device", &["desktop"])],
        T0 + 5 * MIN,
    );
    let shops = segment(&shop, "Mobile", vec![filter("is", "device", &["mobile"])], T0);
    for seg in [&paid, &docs, &late, &again, &shops] {
        s.create_segment(seg).await.unwrap();
    }
    let mut tied = vec![late.clone(), again.clone()];
    tied.sort_by_key(|seg| seg.id);
    let mut want = vec![docs.clone(), paid.clone()];
    want.extend(tied);
    assert_eq!(s.segments_of(&blog.id).await.unwrap(), want, "oldest first, ties by id");
    assert_eq!(s.segments_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    assert_eq!(s.segments_of(&ids::new_project_id(T0)).await.unwrap(), vec![]);
    assert!(
        matches!(s.create_segment(&paid).await, Err(StoreError::Conflict(_))),
        "the id is taken"
    );

    assert!(!s.delete_segment(&shop.id, &paid.id).await.unwrap());
    assert!(s.delete_segment(&blog.id, &paid.id).await.unwrap());
    assert!(!s.delete_segment(&blog.id, &paid.id).await.unwrap());
    assert!(!s.delete_segment(&blog.id, &SegmentId::new(T0)).await.unwrap());
    assert_eq!(s.segments_of(&blog.id).await.unwrap().len(), 3);
    assert!(!s.segments_of(&blog.id).await.unwrap().contains(&paid));
    assert_eq!(s.segments_of(&shop.id).await.unwrap(), vec![shops]);
}

/// Deleting a project deletes its segments, and only its segments.
pub async fn deleting_a_project_deletes_its_segments(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let (doomed, kept) = (project(&ada, "Doomed", T0), project(&ada, "Kept", T0));
    s.create_project(&doomed).await.unwrap();
    s.create_project(&kept).await.unwrap();
    let doomed_segment = segment(&doomed, "Germany", vec![filter("is", "country", &["DE"])], T0);
    let kept_segment = segment(&kept, "Germany", vec![filter("is", "country", &["DE"])], T0);
    s.create_segment(&doomed_segment).await.unwrap();
    s.create_segment(&kept_segment).await.unwrap();
    assert!(s.delete_project(&doomed.id).await.unwrap());
    assert_eq!(s.segments_of(&doomed.id).await.unwrap(), vec![]);
    assert!(!s.delete_segment(&doomed.id, &doomed_segment.id).await.unwrap());
    assert_eq!(s.segments_of(&kept.id).await.unwrap(), vec![kept_segment]);
}
