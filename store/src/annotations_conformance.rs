//! The conformance cases of annotations ([`Store::create_annotation`], [`Store::annotations_of`],
//! [`Store::delete_annotation`], notes deleted with their project), run by
//! [`conformance_tests!`](crate::conformance_tests) with the others.

use chrono::NaiveDate;

use crate::conformance::{project, user, Backend, MIN, T0};
use crate::*;

fn note(project: &Project, date: &str, text: &str, at: Millis) -> Annotation {
    Annotation {
        id: AnnotationId::new(at),
        project: project.id,
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        text: AnnotationText::parse(text).unwrap(),
        created_at: at,
    }
}

/// Notes are listed by date, then oldest first, per project; deleted only through their own
/// project; two notes may share a date and a text.
pub async fn annotations_are_created_listed_and_deleted(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let (blog, shop) = (project(&ada, "Blog", T0), project(&ada, "Shop", T0));
    s.create_project(&blog).await.unwrap();
    s.create_project(&shop).await.unwrap();
    assert_eq!(s.annotations_of(&blog.id).await.unwrap(), vec![]);

    // Written in another order than their dates; the last two on one date and time.
    let launch = note(&blog, "2025-11-20", "Launched v2 ✨", T0 + 3 * MIN);
    let newsletter = note(&blog, "2025-11-03", "Newsletter", T0 + 4 * MIN);
    let late = note(&blog, "2025-11-20", "Hacker News", T0 + 5 * MIN);
    let again = note(&blog, "2025-11-20", "Hacker News", T0 + 5 * MIN);
    let shops = note(&shop, "2025-11-20", "Sale", T0);
    for n in [&launch, &newsletter, &late, &again, &shops] {
        s.create_annotation(n).await.unwrap();
    }
    let mut tied = vec![late.clone(), again.clone()];
    tied.sort_by_key(|n| n.id);
    let mut want = vec![newsletter.clone(), launch.clone()];
    want.extend(tied);
    assert_eq!(
        s.annotations_of(&blog.id).await.unwrap(),
        want,
        "by date, then oldest first, ties by id"
    );
    assert_eq!(s.annotations_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    assert_eq!(s.annotations_of(&ids::new_project_id(T0)).await.unwrap(), vec![]);
    assert!(
        matches!(s.create_annotation(&launch).await, Err(StoreError::Conflict(_))),
        "the id is taken"
    );

    assert!(!s.delete_annotation(&shop.id, &launch.id).await.unwrap());
    assert!(s.delete_annotation(&blog.id, &launch.id).await.unwrap());
    assert!(!s.delete_annotation(&blog.id, &launch.id).await.unwrap());
    assert!(!s.delete_annotation(&blog.id, &AnnotationId::new(T0)).await.unwrap());
    assert_eq!(s.annotations_of(&blog.id).await.unwrap().len(), 3);
    assert!(!s.annotations_of(&blog.id).await.unwrap().contains(&launch));
    assert_eq!(s.annotations_of(&shop.id).await.unwrap(), vec![shops]);
}

/// Deleting a project deletes its notes, and only its notes.
pub async fn deleting_a_project_deletes_its_annotations(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let (doomed, kept) = (project(&ada, "Doomed", T0), project(&ada, "Kept", T0));
    s.create_project(&doomed).await.unwrap();
    s.create_project(&kept).await.unwrap();
    let doomed_note = note(&doomed, "2025-11-20", "Launch", T0);
    let kept_note = note(&kept, "2025-11-20", "Launch", T0);
    s.create_annotation(&doomed_note).await.unwrap();
    s.create_annotation(&kept_note).await.unwrap();
    assert!(s.delete_project(&doomed.id).await.unwrap());
    assert_eq!(s.annotations_of(&doomed.id).await.unwrap(), vec![]);
    assert!(!s.delete_annotation(&doomed.id, &doomed_note.id).await.unwrap());
    assert_eq!(s.annotations_of(&kept.id).await.unwrap(), vec![kept_note]);
}
