"""Pages of people and places: the grid worker's phone under /m/grid/, the registry under /people/."""

from django.urls import path

from parties import pages, party_pages

app_name = "parties"
urlpatterns = [
    path("m/grid/", pages.my_grid, name="my_grid"),
    path("m/grid/buildings/", pages.m_buildings, name="m_buildings"),
    path("m/grid/buildings/<int:pk>/", pages.m_building, name="m_building"),
    path("m/grid/people/", pages.m_people, name="m_people"),
    path("m/grid/organisations/", pages.m_organisations, name="m_organisations"),
    path("m/grid/key-persons/", pages.m_key_persons, name="m_key_persons"),
    path("m/grid/key-persons/<int:pk>/visit/", pages.m_visit, name="m_visit"),
    path("m/grid/visits/<int:pk>/", pages.m_visit_done, name="m_visit_done"),
    path("people/", pages.figures, name="figures"),
    path("people/residents/", pages.residents, name="residents"),
    path("people/buildings/", pages.buildings, name="buildings"),
    path("people/buildings/<int:pk>/", pages.building, name="building"),
    path("people/key-persons/", pages.key_persons, name="key_persons"),
    path("people/party/", party_pages.party, name="party"),
    path("people/party/organisations/new/", party_pages.create_organisation, name="party_organisation_new"),
    path("people/party/members/new/", party_pages.add_member, name="party_member_new"),
    path("people/party/members/<int:pk>/remove/", party_pages.remove_member, name="party_member_remove"),
    path("people/buildings.geojson", pages.buildings_geojson, name="buildings_geojson"),
]
