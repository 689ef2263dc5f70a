"""Data table: first names, last names and nicknames by culture, business names, cities,
streets and email domains the demo customers are made of."""

from __future__ import annotations

CULTURES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # culture: (weight, masculine first names, feminine first names, last names)
    "anglo": (
        38,
        ("James", "Robert", "John", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
         "Christopher", "Daniel", "Matthew", "Anthony", "Andrew", "Joshua", "Kevin", "Brian",
         "Timothy", "Jonathan", "Benjamin", "Samuel", "Nicholas", "Alexander", "Tyler", "Ryan"),
        ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
         "Sarah", "Karen", "Emily", "Margaret", "Katherine", "Rebecca", "Samantha", "Victoria",
         "Ashley", "Hannah", "Megan", "Olivia", "Abigail", "Madison", "Lauren", "Rachel"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
         "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
         "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
         "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Campbell",
         "Parker", "Evans", "Edwards", "Collins", "Stewart", "Murphy", "Cook", "Rogers",
         "O'Brien", "McCarthy", "Sullivan", "Bennett", "Hughes", "Foster", "Brooks"),
    ),
    "hispanic": (
        19,
        ("José", "Juan", "Luis", "Carlos", "Miguel", "Alejandro", "Francisco", "Javier", "Diego",
         "Andrés", "Jesús", "Guillermo", "Rafael", "Sebastián", "Mateo", "Santiago"),
        ("María", "Guadalupe", "Sofía", "Isabella", "Valentina", "Camila", "Lucía", "Ana",
         "Gabriela", "Daniela", "Mariana", "Ximena", "Rocío", "Carmen", "Elena"),
        ("García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
         "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales", "Reyes", "Cruz",
         "Ortiz", "Gutiérrez", "Chávez", "Ramos", "Vargas", "Castillo", "Jiménez",
         "García López", "De la Cruz", "Núñez", "Peña"),
    ),
    "african": (
        9,
        ("DeShawn", "Jamal", "Malik", "Terrence", "Darnell", "Marcus", "Kwame", "Chidi",
         "Oluwaseun", "Tyrone", "Andre", "Jerome"),
        ("Aaliyah", "Imani", "Keisha", "Latoya", "Ebony", "Amara", "Ngozi", "Adaeze", "Tanisha",
         "Jasmine", "Nia", "Zuri"),
        ("Washington", "Jefferson", "Okafor", "Mensah", "Adeyemi", "Okonkwo", "Banks", "Freeman",
         "Diallo", "Asante", "Robinson", "Coleman", "Jenkins", "Owusu", "Mbatha"),
    ),
    "chinese": (
        5,
        ("Wei", "Jun", "Hao", "Lei", "Ming", "Jian", "Tao", "Bo"),
        ("Mei", "Li", "Xiu", "Ying", "Fang", "Lan", "Jing", "Yan"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Lin"),
    ),
    "south_asian": (
        6,
        ("Arjun", "Rahul", "Vikram", "Aditya", "Rohan", "Sanjay", "Amit", "Karthik", "Ravi"),
        ("Priya", "Ananya", "Divya", "Kavya", "Neha", "Pooja", "Aishwarya", "Lakshmi", "Meera"),
        ("Patel", "Shah", "Sharma", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Desai", "Mehta",
         "Chatterjee", "Krishnan", "Nair", "Rao"),
    ),
    "vietnamese": (
        3,
        ("Minh", "Duc", "Tuan", "Huy", "Khoa", "Long"),
        ("Linh", "Thao", "Trang", "Ngoc", "Huong", "Mai"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng"),
    ),
    "korean": (
        3,
        ("Min-jun", "Ji-hoon", "Seo-jun", "Dong-hyun", "Jae-won"),
        ("Ji-woo", "Seo-yeon", "Ha-eun", "Soo-ah", "Min-ji"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
    ),
    "japanese": (
        2,
        ("Haruto", "Kenji", "Takashi", "Hiroshi", "Sora"),
        ("Yuki", "Aiko", "Haruka", "Sakura", "Emi"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Yamamoto", "Nakamura"),
    ),
    "arabic": (
        4,
        ("Mohammed", "Ahmed", "Omar", "Yusuf", "Khalid", "Hassan", "Ali", "Karim", "Tariq"),
        ("Fatima", "Aisha", "Layla", "Mariam", "Noor", "Zainab", "Yasmin", "Huda"),
        ("Haddad", "Khan", "Hassan", "Abdullah", "Saleh", "Nasser", "Farah", "Mansour",
         "El-Amin", "Khoury"),
    ),
    "slavic": (
        5,
        ("Dmitri", "Aleksandr", "Ivan", "Sergei", "Pavel", "Tomasz", "Piotr", "Andrei"),
        ("Anastasia", "Ekaterina", "Olga", "Natalia", "Agnieszka", "Irina", "Svetlana"),
        ("Ivanov", "Petrov", "Smirnov", "Kowalski", "Nowak", "Novak", "Volkov", "Wiśniewski",
         "Kuznetsov", "Horvat"),
    ),
    "european": (
        4,
        ("Lukas", "Matteo", "Luca", "Pierre", "Hans", "Søren", "François", "Giovanni", "Lars"),
        ("Sophie", "Chloé", "Giulia", "Ingrid", "Zoë", "Elena", "Francesca", "Astrid"),
        ("Müller", "Schmidt", "Rossi", "Russo", "Bianchi", "Dubois", "Lefèvre", "Jensen",
         "Nielsen", "Andersson", "van der Berg", "O'Connor", "Fischer"),
    ),
}  # fmt: skip


CULTURE_WEIGHTS = tuple((name, spec[0]) for name, spec in CULTURES.items())


NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "James": ("Jim", "Jimmy"),
    "John": ("Jack", "Johnny"),
    "Michael": ("Mike",),
    "Richard": ("Rick", "Rich"),
    "Joseph": ("Joe",),
    "Thomas": ("Tom",),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Timothy": ("Tim",),
    "Jonathan": ("Jon",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Nicholas": ("Nick",),
    "Alexander": ("Alex",),
    "Patricia": ("Pat", "Trish"),
    "Jennifer": ("Jen", "Jenny"),
    "Elizabeth": ("Liz", "Beth", "Betsy"),
    "Barbara": ("Barb",),
    "Susan": ("Sue",),
    "Jessica": ("Jess",),
    "Katherine": ("Kate", "Katie", "Kathy"),
    "Margaret": ("Maggie", "Peggy"),
    "Rebecca": ("Becky",),
    "Samantha": ("Sam",),
    "Victoria": ("Vicky", "Tori"),
    "Abigail": ("Abby",),
    "Francisco": ("Paco", "Frank"),
    "José": ("Pepe",),
    "Alejandro": ("Alex",),
    "Guillermo": ("Memo",),
    "Jesús": ("Chuy",),
    "Guadalupe": ("Lupe",),
    "Dmitri": ("Dima",),
    "Aleksandr": ("Sasha",),
    "Ekaterina": ("Katya",),
    "Anastasia": ("Nastya",),
    "Mohammed": ("Mo",),
    "Giovanni": ("Gianni",),
    "Oluwaseun": ("Seun",),
}


BUSINESS_FIRST = (
    "Acme", "Blue Ridge", "Summit Peak", "Harborview", "Redwood", "Lakeside", "Pioneer",
    "Golden Gate", "Maple Leaf", "Silverline", "Northstar", "Brightpath", "Cedar Hollow",
    "Ironwood", "Riverbend", "Sunrise", "Keystone", "Copperleaf", "Bluebird", "Tall Pines",
)  # fmt: skip


BUSINESS_KIND = (
    "Widgets", "Landscaping", "Dental Group", "Plumbing", "Bakery", "Fitness", "Consulting",
    "Auto Repair", "Property Management", "Coffee Roasters", "Veterinary Clinic", "Print Shop",
    "Logistics", "Pet Grooming", "Yoga Studio", "Electric", "Roofing", "Catering",
    "Design Studio", "Hardware",
)  # fmt: skip


BUSINESS_SUFFIX = (("LLC", 50), ("Inc.", 25), ("Co.", 10), ("Corp.", 5), ("", 10))


CITIES = (
    ("San Francisco", "CA", "94103"), ("Oakland", "CA", "94612"), ("Los Angeles", "CA", "90026"),
    ("San Diego", "CA", "92104"), ("Sacramento", "CA", "95816"), ("Portland", "OR", "97214"),
    ("Seattle", "WA", "98122"), ("Spokane", "WA", "99201"), ("Boise", "ID", "83702"),
    ("Phoenix", "AZ", "85004"), ("Tucson", "AZ", "85719"), ("Las Vegas", "NV", "89101"),
    ("Salt Lake City", "UT", "84111"), ("Denver", "CO", "80206"), ("Albuquerque", "NM", "87102"),
    ("Austin", "TX", "78704"), ("Houston", "TX", "77006"), ("Dallas", "TX", "75204"),
    ("San Antonio", "TX", "78212"), ("El Paso", "TX", "79902"), ("Oklahoma City", "OK", "73102"),
    ("Kansas City", "MO", "64111"), ("St. Louis", "MO", "63104"), ("Omaha", "NE", "68102"),
    ("Minneapolis", "MN", "55408"), ("Milwaukee", "WI", "53202"), ("Chicago", "IL", "60614"),
    ("Detroit", "MI", "48201"), ("Grand Rapids", "MI", "49503"), ("Columbus", "OH", "43215"),
    ("Cleveland", "OH", "44113"), ("Indianapolis", "IN", "46204"), ("Louisville", "KY", "40204"),
    ("Nashville", "TN", "37203"), ("Memphis", "TN", "38104"), ("Atlanta", "GA", "30308"),
    ("Charlotte", "NC", "28202"), ("Raleigh", "NC", "27601"), ("Miami", "FL", "33130"),
    ("Orlando", "FL", "32801"), ("Tampa", "FL", "33602"), ("New Orleans", "LA", "70115"),
    ("Birmingham", "AL", "35203"), ("Richmond", "VA", "23220"), ("Washington", "DC", "20009"),
    ("Baltimore", "MD", "21201"), ("Philadelphia", "PA", "19103"), ("Pittsburgh", "PA", "15222"),
    ("Newark", "NJ", "07102"), ("Brooklyn", "NY", "11215"), ("Buffalo", "NY", "14201"),
    ("Boston", "MA", "02116"), ("Providence", "RI", "02903"), ("Hartford", "CT", "06103"),
    ("Burlington", "VT", "05401"), ("Portland", "ME", "04101"), ("Honolulu", "HI", "96813"),
    ("Anchorage", "AK", "99501"),
)  # fmt: skip


STREETS = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Highland", "Jefferson", "Lincoln", "Madison", "Franklin", "Church", "Willow",
    "Meadow", "River", "Spring", "Valley", "Forest", "Ridge", "Mission", "Market", "Chestnut",
    "Walnut", "Cherry", "Magnolia", "Dogwood", "Laurel", "Grant", "Jackson", "Adams",
    "Townsend", "Harbor", "Prospect", "Summit", "Orchard",
)  # fmt: skip


STREET_SUFFIX = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Way", "Ct", "Pl", "Ter")


EMAIL_DOMAINS = (
    ("gmail.com", 46), ("yahoo.com", 12), ("outlook.com", 10), ("icloud.com", 10),
    ("hotmail.com", 6), ("aol.com", 3), ("proton.me", 3), ("comcast.net", 3), ("att.net", 2),
    ("me.com", 2), ("msn.com", 2), ("live.com", 1),
)  # fmt: skip
