//! The SCIM discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas` (only the
//! attributes this server stores) and `/ResourceTypes`.

use serde_json::{json, Value};

use super::resource::{ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": super::MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token from `passlogic-idp scim-token create NAME`",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

fn attr(name: &str, kind: &str, multi: bool, required: bool, unique: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": name,
        "required": required,
        "caseExact": name == "externalId" || name == "id" || name == "value",
        "mutability": if name == "groups" { "readOnly" } else { "readWrite" },
        "returned": "default",
        "uniqueness": unique,
    })
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false, "none");
    a["subAttributes"] = Value::Array(subs);
    a
}

fn schema(id: &str, name: &str, attributes: Vec<Value>, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": name,
        "attributes": attributes,
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") }
    })
}

/// `/Schemas`: User, Group, EnterpriseUser.
pub fn schemas(base: &str) -> Vec<Value> {
    let s = |n: &str| attr(n, "string", false, false, "none");
    let user = vec![
        attr("userName", "string", false, true, "server"),
        s("externalId"),
        complex("name", false, vec![s("givenName"), s("familyName")]),
        s("displayName"),
        s("title"),
        attr("active", "boolean", false, false, "none"),
        complex(
            "emails",
            true,
            vec![
                s("value"),
                s("type"),
                attr("primary", "boolean", false, false, "none"),
            ],
        ),
        complex("groups", true, vec![s("value"), s("display")]),
    ];
    let group = vec![
        attr("displayName", "string", false, true, "server"),
        complex("members", true, vec![s("value"), s("display")]),
    ];
    vec![
        schema(USER_SCHEMA, "User", user, base),
        schema(GROUP_SCHEMA, "Group", group, base),
        schema(ENTERPRISE, "EnterpriseUser", vec![s("department")], base),
    ]
}

/// `/ResourceTypes`: User (with the enterprise extension) and Group.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users",
            "description": "User Account", "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") }
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "Group", "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") }
        }),
    ]
}
