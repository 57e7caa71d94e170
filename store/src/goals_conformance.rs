//! The conformance cases of goals ([`Store::create_goal`], [`Store::goals_of`],
//! [`Store::delete_goal`], goals deleted with their project) and of the raw aggregations' goal
//! parts (page goals' conversions, goal filters, grouping by goal), run by
//! [`conformance_tests!`](crate::conformance_tests) with the others.

use crate::conformance::Backend;
use crate::*;

const T0: Millis = 1_763_683_200_000; // 2025-11-21T00:00:00Z
const MIN: Millis = 60_000;

fn owner() -> User {
    User {
        id: UserId::new(T0),
        email: Email::parse("ada@example.com").unwrap(),
        password_hash: "$argon2id$test".into(),
        created_at: T0,
    }
}

fn project(owner: &User, name: &str) -> Project {
    Project {
        id: ids::new_project_id(T0),
        owner: owner.id,
        name: Name::parse(name).unwrap(),
        domain: None,
        timezone: TimeZoneName::utc(),
        created_at: T0,
    }
}

fn goal(project: &Project, kind: GoalKind, at: Millis) -> Goal {
    Goal {
        id: GoalId::new(at),
        project: project.id,
        kind,
        created_at: at,
    }
}

fn event_goal(name: &str) -> GoalKind {
    GoalKind::event(name).unwrap()
}

fn page_goal(pattern: &str) -> GoalKind {
    GoalKind::page(pattern).unwrap()
}

/// Goals are listed oldest first per project, refused twice in one project, and deleted only
/// through their own project.
pub async fn goals_are_created_listed_and_deleted(b: &dyn Backend) {
    let s = b.store();
    let ada = owner();
    s.create_user(&ada).await.unwrap();
    let (blog, shop) = (project(&ada, "Blog"), project(&ada, "Shop"));
    s.create_project(&blog).await.unwrap();
    s.create_project(&shop).await.unwrap();
    assert_eq!(s.goals_of(&blog.id).await.unwrap(), vec![]);

    let signup = goal(&blog, event_goal("signup"), T0 + 2 * MIN);
    let docs = goal(&blog, page_goal("/docs/*"), T0);
    let pricing = goal(&blog, page_goal("/pricing"), T0 + MIN);
    // Same time as `signup`: listed after or before it by id.
    let tie = goal(&blog, page_goal("/signup"), T0 + 2 * MIN);
    let shops = goal(&shop, event_goal("signup"), T0);
    for g in [&signup, &docs, &pricing, &tie, &shops] {
        s.create_goal(g).await.unwrap();
    }
    let mut tied = vec![signup.clone(), tie.clone()];
    tied.sort_by_key(|g| g.id);
    let mut want = vec![docs.clone(), pricing.clone()];
    want.extend(tied);
    assert_eq!(s.goals_of(&blog.id).await.unwrap(), want, "oldest first, ties by id");
    assert_eq!(s.goals_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    assert_eq!(s.goals_of(&ids::new_project_id(T0)).await.unwrap(), vec![]);

    // The same goal twice in one project is a conflict; the same value as another kind is not.
    let again = goal(&blog, page_goal("/docs/*"), T0 + 9 * MIN);
    assert!(matches!(s.create_goal(&again).await, Err(StoreError::Conflict(_))));
    let event_named_like_a_path = goal(&blog, GoalKind::Event("/pricing".into()), T0 + 6 * MIN);
    s.create_goal(&event_named_like_a_path).await.unwrap();
    assert_eq!(s.goals_of(&blog.id).await.unwrap().len(), 5);

    // A goal is deleted through its own project only.
    assert!(!s.delete_goal(&shop.id, &docs.id).await.unwrap());
    assert!(s.delete_goal(&blog.id, &docs.id).await.unwrap());
    assert!(!s.delete_goal(&blog.id, &docs.id).await.unwrap());
    assert!(!s.delete_goal(&blog.id, &GoalId::new(T0)).await.unwrap());
    let left = s.goals_of(&blog.id).await.unwrap();
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&docs));
    assert_eq!(s.goals_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    // Deleted, it can be added again.
    s.create_goal(&again).await.unwrap();
    assert_eq!(s.goals_of(&blog.id).await.unwrap().last(), Some(&again));
}

/// Deleting a project deletes its goals, and only its goals.
pub async fn deleting_a_project_deletes_its_goals(b: &dyn Backend) {
    let s = b.store();
    let ada = owner();
    s.create_user(&ada).await.unwrap();
    let (doomed, kept) = (project(&ada, "Doomed"), project(&ada, "Kept"));
    s.create_project(&doomed).await.unwrap();
    s.create_project(&kept).await.unwrap();
    let doomed_goal = goal(&doomed, event_goal("signup"), T0);
    let kept_goal = goal(&kept, event_goal("signup"), T0);
    s.create_goal(&doomed_goal).await.unwrap();
    s.create_goal(&kept_goal).await.unwrap();
    assert!(s.delete_project(&doomed.id).await.unwrap());
    assert_eq!(s.goals_of(&doomed.id).await.unwrap(), vec![]);
    assert!(!s.delete_goal(&doomed.id, &doomed_goal.id).await.unwrap());
    assert_eq!(s.goals_of(&kept.id).await.unwrap(), vec![kept_goal]);
}
